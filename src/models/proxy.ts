// The proxy model (Codis 3.2 models.Proxy) and its identity: token and xauth, as Codis computes them
// so a dashboard can authenticate to a proxy's admin API.
import { createHash } from 'node:crypto';
import os from 'node:os';

export interface ProxyModel {
  id: number;
  token: string;
  start_time: string;
  admin_addr: string;
  proto_type: string;
  proxy_addr: string;
  jodis_path: string;
  product_name: string;
  pid: number;
  pwd: string;
  sys: string;
  hostname: string;
  datacenter: string;
}

export function proxyToken(product: string, proxyAddr: string, adminAddr: string): string {
  return createHash('md5').update(`Shardis-Token@${os.hostname()}-${product}-${proxyAddr}-${adminAddr}`).digest('hex');
}

/** Codis's xauth: the first 16 bytes, as hex, of sha256("Codis-XAuth-[product]-[auth]-[token]"). */
export function proxyXAuth(product: string, auth: string, token: string): string {
  return createHash('sha256').update(`Codis-XAuth-[${product}]-[${auth}]-[${token}]`).digest('hex').slice(0, 32);
}

export function newProxyModel(o: { product: string; proxyAddr: string; adminAddr: string; datacenter: string }): ProxyModel {
  const token = proxyToken(o.product, o.proxyAddr, o.adminAddr);
  return {
    id: 0,
    token,
    start_time: new Date().toISOString(),
    admin_addr: o.adminAddr,
    proto_type: 'tcp4',
    proxy_addr: o.proxyAddr,
    jodis_path: `/jodis/${o.product}/proxy-${token}`,
    product_name: o.product,
    pid: process.pid,
    pwd: process.cwd(),
    sys: `${os.type()} ${os.release()} ${os.arch()}`,
    hostname: os.hostname(),
    datacenter: o.datacenter,
  };
}
