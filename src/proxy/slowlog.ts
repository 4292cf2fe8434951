// The proxy's slow log: the most recent commands that took longer than slowlog_log_slower_than
// microseconds from parse to reply, answered by SLOWLOG GET / LEN / RESET in Redis's reply shape.
import type { Request } from '../resp/request-parser.js';
import { arr, bulk, int, type RespValue } from '../resp/encode.js';
import { copyBytes } from '../resp/copy-bytes.js';
import { argEnd, argStart } from '../commands/keys.js';

/**
 * One logged command. Slots of the ring are reused: the arguments (as stored, truncated) are copied
 * into one byte buffer per slot that only grows, so a proxy where every command is slow (overload:
 * the moment the log matters) allocates nothing per logged command once the ring has gone round.
 */
interface Entry {
  id: number;
  time: number;
  us: number;
  /** The stored arguments back to back; argument i is bytes[ends[i-1] (0 for i = 0), ends[i]). */
  bytes: Buffer;
  ends: Int32Array;
  /** Stored arguments (at most MAX_ARGS). */
  n: number;
  client: string;
  name: string;
}

const MAX_ARGS = 32,
  MAX_ARG_LEN = 128;

export class SlowLog {
  /** Ring of `maxLen` slots; the newest entry is at `newest`, `count` entries are valid. */
  private ring: Entry[] = [];
  private newest = -1;
  private count = 0;
  private nextId = 0;
  constructor(private maxLen: number) {}

  add(req: Request, us: number, client: { remote: string; name: string }): void {
    if (this.maxLen <= 0) return;
    const argc = req.argc;
    const n = Math.min(argc, MAX_ARGS);
    // Argument MAX_ARGS is replaced by a note when there are more (as before: Redis's shape).
    const copied = argc > MAX_ARGS ? MAX_ARGS - 1 : n;
    let need = 0;
    for (let i = 0; i < copied; i++) {
      const len = argEnd(req, i) - argStart(req, i);
      need += len > MAX_ARG_LEN ? MAX_ARG_LEN + 40 : len;
    }
    if (copied < n) need += 40;
    const slot = (this.newest + 1) % this.maxLen;
    let e = this.ring[slot];
    if (e === undefined) {
      e = {
        id: 0,
        time: 0,
        us: 0,
        bytes: Buffer.allocUnsafeSlow(Math.max(need, 256)),
        ends: new Int32Array(MAX_ARGS),
        n: 0,
        client: '',
        name: '',
      };
      this.ring[slot] = e;
    } else if (e.bytes.length < need) e.bytes = Buffer.allocUnsafeSlow(Math.max(need, 2 * e.bytes.length));
    // Copies: the log must not retain the request's buffer.
    const b = e.bytes;
    let pos = 0;
    for (let i = 0; i < copied; i++) {
      const st = argStart(req, i),
        en = argEnd(req, i);
      if (en - st > MAX_ARG_LEN) {
        pos += copyBytes(req.buf, st, st + MAX_ARG_LEN, b, pos);
        pos += b.write(`... (${en - st - MAX_ARG_LEN} more bytes)`, pos, 'latin1');
      } else pos += copyBytes(req.buf, st, en, b, pos);
      e.ends[i] = pos;
    }
    if (copied < n) {
      pos += b.write(`... (${argc - MAX_ARGS + 1} more arguments)`, pos, 'latin1');
      e.ends[copied] = pos;
    }
    e.n = n;
    e.id = this.nextId++;
    e.time = Math.floor(Date.now() / 1000);
    e.us = Math.round(us);
    e.client = client.remote;
    e.name = client.name;
    this.newest = slot;
    if (this.count < this.maxLen) this.count++;
  }

  get length(): number {
    return this.count;
  }
  reset(): void {
    this.count = 0;
  }

  /** SLOWLOG GET [count]: newest first, as redis: [id, time, µs, [args], client addr, client name]. */
  get(count: number): RespValue {
    const k = count < 0 ? this.count : Math.min(count, this.count);
    const out: RespValue[] = [];
    for (let j = 0; j < k; j++) {
      const e = this.ring[(this.newest - j + this.maxLen) % this.maxLen]!; // j < count: a filled slot
      const args: RespValue[] = [];
      let from = 0;
      for (let i = 0; i < e.n; i++) {
        const to = e.ends[i] ?? from;
        args.push(bulk(Buffer.from(e.bytes.subarray(from, to)))); // a copy: the slot is reused by later commands
        from = to;
      }
      out.push(arr([int(e.id), int(e.time), int(e.us), arr(args), bulk(e.client), bulk(e.name)]));
    }
    return arr(out);
  }
}
