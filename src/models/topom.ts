// The dashboard's identity record (Codis 3.2 models.Topom), stored as the product lock at
// /codis3/<product>/topom while a dashboard is active.
import { createHash } from 'node:crypto';
import os from 'node:os';

export interface TopomModel {
  token: string;
  start_time: string;
  admin_addr: string;
  product_name: string;
  pid: number;
  pwd: string;
  sys: string;
}

export function newTopomModel(product: string, adminAddr: string): TopomModel {
  const start = new Date().toISOString();
  const token = createHash('md5').update(`Shardis-Topom@${os.hostname()}-${product}-${adminAddr}-${process.pid}-${start}`).digest('hex');
  return {
    token,
    start_time: start,
    admin_addr: adminAddr,
    product_name: product,
    pid: process.pid,
    pwd: process.cwd(),
    sys: `${os.type()} ${os.release()} ${os.arch()} ${os.hostname()}`,
  };
}

/** Reads a Topom record (ours or Codis's); missing fields become empty. */
export function parseTopom(input: unknown): TopomModel {
  const o = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const s = (k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : '');
  return {
    token: s('token'),
    start_time: s('start_time'),
    admin_addr: s('admin_addr'),
    product_name: s('product_name'),
    pid: typeof o.pid === 'number' ? o.pid : 0,
    pwd: s('pwd'),
    sys: s('sys'),
  };
}
