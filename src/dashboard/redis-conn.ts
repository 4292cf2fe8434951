// The dashboard's control-plane Redis client: one sequential connection (one command at a time, each
// with a deadline) that keeps every failure's real cause (connection refused, NOAUTH, timeout), which
// a pooled client with retries would hide. Framing and encoding are resp/'s (decodeValue,
// encodeCommand); this file only owns the socket and the one-in-flight rule.
import type net from 'node:net';
import { encodeCommand, type RespValue } from '../resp/encode.js';
import { decodeValue } from '../resp/value-decoder.js';
import { parseAddr } from '../util/address.js';
import { connectRedisSocket } from '../util/redis-client-tls.js';

/** A reply as plain values: text, numbers, null, lists (errors nested in lists become their text). */
export type Reply = string | number | null | Reply[];

/** An error reply from redis (`-ERR ...`). */
export class RedisReplyError extends Error {
  override readonly name = 'RedisReplyError';
}

function plain(v: RespValue): Reply {
  switch (v.t) {
    case 'simple':
    case 'error':
    case 'verbatim':
      return v.v;
    case 'bulk':
      return typeof v.v === 'string' ? v.v : v.v.toString('utf8');
    case 'int':
      return Number(v.v);
    case 'double':
      return v.v;
    case 'bool':
      return v.v ? 1 : 0;
    case 'null':
      return null;
    case 'array':
    case 'set':
      return v.v.map(plain);
    case 'map':
      return v.v.flatMap(([k, x]) => [plain(k), plain(x)]);
    case 'raw':
      return v.v.toString('utf8');
  }
}

/** A minimal sequential redis connection: one command at a time, each with a deadline. */
export class RedisConn {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (v: Reply) => void; reject: (e: Error) => void } | null = null;
  private dead: Error | null = null;

  private constructor(
    private readonly sock: net.Socket,
    private readonly timeoutMs: number,
  ) {
    sock.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.drain();
    });
    const fail = (e: Error): void => {
      this.dead ??= e;
      const w = this.waiting;
      this.waiting = null;
      w?.reject(e);
    };
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('connection closed by the server')));
  }

  /** Plain TCP, or TLS when the process set it (backend_tls: util/redis-client-tls.ts). */
  static connect(addr: string, timeoutMs: number): Promise<RedisConn> {
    const { host, port } = parseAddr(addr);
    return new Promise((resolve, reject) => {
      const { sock, ready } = connectRedisSocket(host, port);
      const t = setTimeout(() => {
        sock.destroy();
        reject(new Error('timed out'));
      }, timeoutMs);
      sock.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
      sock.once(ready, () => {
        clearTimeout(t);
        sock.removeAllListeners('error');
        resolve(new RedisConn(sock, timeoutMs));
      });
    });
  }

  get alive(): boolean {
    return this.dead === null && !this.sock.destroyed;
  }

  private drain(): void {
    const w = this.waiting;
    if (!w || this.buf.length === 0) return;
    let r: ReturnType<typeof decodeValue>;
    try {
      r = decodeValue(this.buf, 0);
    } catch (e) {
      this.waiting = null;
      this.close();
      w.reject(new Error(`${(e as Error).message}; is this a redis server?`));
      return;
    }
    if (!r) return;
    this.buf = this.buf.subarray(r[1]);
    this.waiting = null;
    if (r[0].t === 'error') w.reject(new RedisReplyError(r[0].v));
    else w.resolve(plain(r[0]));
  }

  command(...args: string[]): Promise<Reply> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.waiting) return Promise.reject(new Error('a command is already in flight'));
    return new Promise<Reply>((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiting = null;
        this.close();
        reject(new Error('timed out'));
      }, this.timeoutMs);
      this.waiting = {
        resolve: (v) => {
          clearTimeout(t);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      };
      this.sock.write(encodeCommand(args));
      this.drain();
    });
  }

  close(): void {
    this.dead ??= new Error('connection closed');
    this.sock.destroy();
  }
}
