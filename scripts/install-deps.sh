#!/usr/bin/env bash
# Installs what Shardis needs on a fresh Debian machine: the Debian packages it starts
# (redis-server, redis-sentinel, nutcracker, etcd, ZooKeeper) when missing, then npm ci and a build.
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
command -v ip             >/dev/null || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "installing Debian packages: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The Debian packages may start system services; Shardis starts its own on free ports.
  for s in redis-server redis-sentinel nutcracker etcd zookeeper; do $SUDO service "$s" stop >/dev/null 2>&1 || true; done
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run -s build
