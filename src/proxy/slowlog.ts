// The proxy's slow log: the most recent commands that took longer than slowlog_log_slower_than
// microseconds from parse to reply, answered by SLOWLOG GET / LEN / RESET in Redis's reply shape.
import type { Request } from '../resp/request-parser.js';
import { arr, bulk, int, type RespValue } from '../resp/encode.js';

interface Entry {
  id: number;
  time: number;
  us: number;
  args: Buffer[];
  argc: number;
  client: string;
  name: string;
}

const MAX_ARGS = 32,
  MAX_ARG_LEN = 128;

export class SlowLog {
  private entries: Entry[] = [];
  private nextId = 0;
  constructor(private maxLen: number) {}

  add(req: Request, us: number, client: { remote: string; name: string }): void {
    if (this.maxLen <= 0) return;
    const args: Buffer[] = [];
    const n = Math.min(req.argc, MAX_ARGS);
    for (let i = 0; i < n; i++) {
      const s = req.offs[2 * i] ?? 0, // i < argc: always set
        e = req.offs[2 * i + 1] ?? 0;
      const a = Buffer.from(req.buf.subarray(s, Math.min(e, s + MAX_ARG_LEN))); // copy: do not retain the request buffer
      args.push(e - s > MAX_ARG_LEN ? Buffer.concat([a, Buffer.from(`... (${e - s - MAX_ARG_LEN} more bytes)`)]) : a);
    }
    if (req.argc > MAX_ARGS) args[MAX_ARGS - 1] = Buffer.from(`... (${req.argc - MAX_ARGS + 1} more arguments)`);
    this.entries.unshift({
      id: this.nextId++,
      time: Math.floor(Date.now() / 1000),
      us: Math.round(us),
      args,
      argc: req.argc,
      client: client.remote,
      name: client.name,
    });
    if (this.entries.length > this.maxLen) this.entries.length = this.maxLen;
  }

  get length(): number {
    return this.entries.length;
  }
  reset(): void {
    this.entries = [];
  }

  /** SLOWLOG GET [count]: newest first, as redis: [id, time, µs, [args], client addr, client name]. */
  get(count: number): RespValue {
    const list = count < 0 ? this.entries : this.entries.slice(0, count);
    return arr(list.map((e) => arr([int(e.id), int(e.time), int(e.us), arr(e.args.map((a) => bulk(a))), bulk(e.client), bulk(e.name)])));
  }
}
