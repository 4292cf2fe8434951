#!/usr/bin/env bash
# Installs what Shardis needs on a fresh Debian machine: the Debian packages it starts or drives
# (redis, sentinel, nutcracker, etcd, ZooKeeper, chromium, haproxy, nginx, keepalived, iproute2, openssl,
# python3-redis) when missing, then npm ci and a build.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v redis-server   >/dev/null || need+=(redis-server)
command -v redis-sentinel >/dev/null || need+=(redis-sentinel)
command -v redis-cli      >/dev/null || need+=(redis-tools)
command -v nutcracker     >/dev/null || [ -x /usr/sbin/nutcracker ] || need+=(nutcracker)
command -v etcd           >/dev/null || need+=(etcd-server)
[ -x /usr/share/zookeeper/bin/zkServer.sh ] || need+=(zookeeper)
command -v taskset        >/dev/null || need+=(util-linux)
[ -x /usr/bin/chromium ] || need+=(chromium)   # the web console tests (playwright-core drives it; no browser download)
[ -x /usr/sbin/haproxy ] || need+=(haproxy)
[ -x /usr/sbin/nginx ] && [ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || need+=(nginx libnginx-mod-stream)
[ -x /usr/sbin/keepalived ] || need+=(keepalived)
command -v ip             >/dev/null || need+=(iproute2)
command -v openssl        >/dev/null || need+=(openssl)   # throwaway CAs for the TLS tests and benchmarks
[ -e /usr/lib/python3/dist-packages/redis/__init__.py ] || need+=(python3 python3-redis)   # redis-py client test
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "installing Debian packages: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The Debian packages may start system services; Shardis starts its own on free ports.
  for s in redis-server redis-sentinel nutcracker etcd zookeeper haproxy nginx keepalived; do $SUDO service "$s" stop >/dev/null 2>&1 || true; done
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run -s build
