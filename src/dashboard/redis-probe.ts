// Talking to group servers (stock redis-server): the probe run before a server is added (PING and
// INFO server, authenticated with product_auth) and the INFO polling behind the stats, over one
// connection per server, with a minimal RESP client so every failure keeps its real cause
// (connection refused, NOAUTH, timeout).
import net from 'node:net';

/** INFO fields the dashboard shows per server (plus every `dbN` keyspace line). */
const INFO_FIELDS = [
  'redis_version', 'redis_mode', 'run_id', 'uptime_in_seconds', 'role', 'master_host', 'master_port', 'master_link_status',
  'master_link_down_since_seconds', 'connected_slaves', 'connected_clients', 'used_memory', 'used_memory_human', 'maxmemory',
  'maxmemory_human', 'maxmemory_policy', 'instantaneous_ops_per_sec', 'total_commands_processed', 'loading', 'rdb_bgsave_in_progress',
];

export interface ServerStats {
  /** Selected INFO fields (strings, as Redis reports them), plus `master_addr` for replicas. */
  stats: Record<string, string>;
  /** Keys per database, from `INFO keyspace`. */
  dbs: Record<string, number>;
  error?: string;
  timeout?: boolean;
  unixtime: number;
}

export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

export function summarizeInfo(info: Record<string, string>): Pick<ServerStats, 'stats' | 'dbs'> {
  const stats: Record<string, string> = {};
  const dbs: Record<string, number> = {};
  for (const k of INFO_FIELDS) if (info[k] !== undefined) stats[k] = info[k]!;
  if (info.master_host) stats.master_addr = `${info.master_host}:${info.master_port ?? ''}`;
  for (const [k, v] of Object.entries(info)) {
    const m = /^db(\d+)$/.exec(k);
    if (!m) continue;
    stats[k] = v;
    const keys = /keys=(\d+)/.exec(v);
    dbs[m[1]!] = keys ? Number(keys[1]) : 0;
  }
  return { stats, dbs };
}

function splitAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const port = Number(addr.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`"${addr}" is not host:port`);
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, ''), port };
}

type Reply = string | number | null | Reply[];

/** An error reply from redis (`-ERR ...`). */
class RedisReplyError extends Error {}

/** Parses one RESP2 reply at `off`; undefined if incomplete. */
function parseReply(buf: Buffer, off: number): { v: Reply | RedisReplyError; end: number } | undefined {
  const eol = buf.indexOf('\r\n', off);
  if (eol < 0) return undefined;
  const line = buf.toString('utf8', off + 1, eol);
  switch (buf[off]) {
    case 0x2b: return { v: line, end: eol + 2 }; // +
    case 0x2d: return { v: new RedisReplyError(line), end: eol + 2 }; // -
    case 0x3a: return { v: Number(line), end: eol + 2 }; // :
    case 0x24: { // $
      const n = Number(line);
      if (n < 0) return { v: null, end: eol + 2 };
      if (buf.length < eol + 2 + n + 2) return undefined;
      return { v: buf.toString('utf8', eol + 2, eol + 2 + n), end: eol + 2 + n + 2 };
    }
    case 0x2a: { // *
      const n = Number(line);
      if (n < 0) return { v: null, end: eol + 2 };
      const items: Reply[] = [];
      let at = eol + 2;
      for (let k = 0; k < n; k++) {
        const r = parseReply(buf, at);
        if (!r) return undefined;
        items.push(r.v instanceof RedisReplyError ? r.v.message : r.v);
        at = r.end;
      }
      return { v: items, end: at };
    }
    default: throw new Error(`unexpected reply byte 0x${(buf[off] ?? 0).toString(16)}; is this a redis server?`);
  }
}

const encode = (args: string[]): Buffer => {
  const parts = [`*${args.length}\r\n`];
  for (const a of args) parts.push(`$${Buffer.byteLength(a)}\r\n${a}\r\n`);
  return Buffer.from(parts.join(''));
};

/** A minimal sequential redis connection: one command at a time, each with a deadline. */
export class RedisConn {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (v: Reply) => void; reject: (e: Error) => void } | null = null;
  private dead: Error | null = null;

  private constructor(private readonly sock: net.Socket, private readonly timeoutMs: number) {
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

  static connect(addr: string, timeoutMs: number): Promise<RedisConn> {
    const { host, port } = splitAddr(addr);
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port, noDelay: true });
      const t = setTimeout(() => { sock.destroy(); reject(new Error('timed out')); }, timeoutMs);
      sock.once('error', (e) => { clearTimeout(t); reject(e); });
      sock.once('connect', () => {
        clearTimeout(t);
        sock.removeAllListeners('error');
        resolve(new RedisConn(sock, timeoutMs));
      });
    });
  }

  get alive(): boolean { return this.dead === null && !this.sock.destroyed; }

  private drain(): void {
    if (!this.waiting || this.buf.length === 0) return;
    let r: ReturnType<typeof parseReply>;
    try { r = parseReply(this.buf, 0); } catch (e) { this.close(); this.waiting?.reject(e as Error); this.waiting = null; return; }
    if (!r) return;
    this.buf = this.buf.subarray(r.end);
    const w = this.waiting;
    this.waiting = null;
    if (r.v instanceof RedisReplyError) w.reject(r.v); else w.resolve(r.v);
  }

  command(...args: string[]): Promise<Reply> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.waiting) return Promise.reject(new Error('a command is already in flight'));
    return new Promise<Reply>((resolve, reject) => {
      const t = setTimeout(() => { this.waiting = null; this.close(); reject(new Error('timed out')); }, this.timeoutMs);
      this.waiting = {
        resolve: (v) => { clearTimeout(t); resolve(v); },
        reject: (e) => { clearTimeout(t); reject(e); },
      };
      this.sock.write(encode(args));
      this.drain();
    });
  }

  close(): void {
    this.dead ??= new Error('connection closed');
    this.sock.destroy();
  }
}

/** Connects and authenticates with product_auth (if any). */
async function open(addr: string, auth: string, timeoutMs: number): Promise<RedisConn> {
  const c = await RedisConn.connect(addr, timeoutMs);
  if (auth) {
    try { await c.command('AUTH', auth); } catch (e) { c.close(); throw e; }
  }
  return c;
}

/** A person-readable reason for a failed redis call. */
function redisError(addr: string, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const msg = err?.message ?? String(e);
  if (/^NOAUTH/i.test(msg)) return `redis at ${addr} requires a password: set product_auth to its requirepass`;
  if (/^WRONGPASS|invalid password|invalid username-password/i.test(msg)) return `redis at ${addr} rejected product_auth: ${msg}`;
  if (/without any password configured|no password is set/i.test(msg)) return `redis at ${addr} has no password but product_auth is set: ${msg}`;
  if (msg === 'timed out') return `redis at ${addr} did not answer in time`;
  if (err?.code === 'ECONNREFUSED') return `cannot connect to redis at ${addr}: connection refused (is redis-server running there?)`;
  if (err?.code === 'ENOTFOUND' || err?.code === 'EAI_AGAIN') return `cannot resolve the host of ${addr}`;
  if (err?.code) return `cannot connect to redis at ${addr}: ${msg}`;
  if (e instanceof RedisReplyError) return `redis at ${addr} answered with an error: ${msg}`;
  return `redis at ${addr}: ${msg}`;
}

/**
 * Checks that `addr` is a usable redis server for this product: it accepts our password and answers
 * PING and INFO server. Returns the INFO fields; throws an Error with a message a person can act on.
 */
export async function probeRedis(addr: string, auth: string, timeoutMs: number): Promise<Record<string, string>> {
  try { splitAddr(addr); } catch (e) { throw new Error((e as Error).message); }
  let c: RedisConn | null = null;
  try {
    c = await open(addr, auth, timeoutMs);
    const pong = await c.command('PING');
    if (pong !== 'PONG') throw new Error(`unexpected PING reply ${JSON.stringify(pong)}`);
    const info = parseInfo(String(await c.command('INFO', 'server')));
    if (!info.redis_version) throw new Error('INFO server did not report redis_version; is this a redis server?');
    if (info.redis_mode === 'sentinel') throw new Error('it is a redis-sentinel, not a data server');
    if (info.redis_mode === 'cluster') throw new Error('it runs in cluster mode; group servers must be stand-alone redis');
    return info;
  } catch (e) {
    throw new Error(redisError(addr, e));
  } finally {
    c?.close();
  }
}

/** Keeps one connection per server for stats polling; a failed connection is dropped and redialed next time. */
export class RedisStatsPool {
  private readonly conns = new Map<string, RedisConn>();
  constructor(private readonly auth: string, private readonly timeoutMs: number) {}

  async poll(addr: string): Promise<ServerStats> {
    const unixtime = Math.floor(Date.now() / 1000);
    let c = this.conns.get(addr);
    try {
      if (!c || !c.alive) {
        c?.close();
        this.conns.delete(addr);
        c = await open(addr, this.auth, this.timeoutMs);
        this.conns.set(addr, c);
      }
      const text = String(await c.command('INFO'));
      return { ...summarizeInfo(parseInfo(text)), unixtime };
    } catch (e) {
      c?.close();
      this.conns.delete(addr);
      const error = redisError(addr, e);
      return { stats: {}, dbs: {}, error, timeout: /did not answer in time/.test(error) || undefined, unixtime };
    }
  }

  /** Closes connections to servers no longer in `keep`. */
  retain(keep: Set<string>): void {
    for (const [a, c] of this.conns) if (!keep.has(a)) { c.close(); this.conns.delete(a); }
  }

  close(): void {
    for (const c of this.conns.values()) c.close();
    this.conns.clear();
  }
}
