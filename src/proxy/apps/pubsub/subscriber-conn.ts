// One RESP2 subscriber connection from the proxy to one group master, shared by every client session
// of the proxy: sends (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE, reports confirmations and messages, and
// reconnects with back-off after a loss (the hub then subscribes again: pub/sub is at-most-once).
import net from 'node:net';
import { arrayElements, scanReply } from '../../../resp/reply-scanner.js';
import { encodeCommand } from '../../../resp/encode.js';
import type tls from 'node:tls';
import { parseAddr } from '../../../util/address.js';
import { connectBackendTls } from '../../tls.js';

export type SubKind = 'c' | 'p' | 's';

export interface SubscriberEvents {
  /** A subscription (kind, name) is confirmed by the server. */
  onConfirmed(addr: string, kind: SubKind, name: string): void;
  /** A message: `pattern` is set for pattern messages; `name` is the channel. */
  onMessage(kind: SubKind, pattern: Buffer | null, channel: Buffer, message: Buffer): void;
  /** The connection is (re)established: the hub subscribes again to what it wants here. */
  onConnected(addr: string): void;
}

const SUB: Record<SubKind, string> = { c: 'SUBSCRIBE', p: 'PSUBSCRIBE', s: 'SSUBSCRIBE' };
const UNSUB: Record<SubKind, string> = { c: 'UNSUBSCRIBE', p: 'PUNSUBSCRIBE', s: 'SUNSUBSCRIBE' };
const NO_BYTES = Buffer.alloc(0);

/** The payload of a bulk string element reply[s, e). */
export function bulkAt(reply: Buffer, s: number, e: number): Buffer {
  if (reply[s] !== 36) return reply.subarray(s + 1, e - 2);
  const nl = reply.indexOf(10, s);
  return reply.subarray(nl + 1, e - 2);
}

export class SubscriberConn {
  private socket: net.Socket | null = null;
  private rest: Buffer | null = null;
  private connected = false;
  private closed = false;
  private failures = 0;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    readonly addr: string,
    private readonly auth: string,
    private readonly connectTimeout: number,
    private readonly ev: SubscriberEvents,
    /** backend_tls: the servers are reached on their tls-port. */
    private readonly tlsOpts?: tls.ConnectionOptions,
  ) {
    this.connect();
  }

  get isConnected(): boolean {
    return this.connected;
  }

  subscribe(kind: SubKind, names: Buffer[]): void {
    if (names.length) this.write(encodeCommand([SUB[kind], ...names]));
  }
  unsubscribe(kind: SubKind, names: Buffer[]): void {
    if (names.length) this.write(encodeCommand([UNSUB[kind], ...names]));
  }

  private write(raw: Buffer): void {
    if (this.socket !== null && this.connected) this.socket.write(raw);
    // While (re)connecting, nothing is queued: onConnected makes the hub send the full set again.
  }

  private connect(): void {
    if (this.closed) return;
    const { host, port } = parseAddr(this.addr);
    const s: net.Socket = this.tlsOpts ? connectBackendTls(host, port, this.tlsOpts) : net.connect({ host, port, noDelay: true });
    this.socket = s;
    this.rest = null;
    const timer = setTimeout(() => s.destroy(new Error('connect timeout')), this.connectTimeout);
    s.once(this.tlsOpts ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      if (this.socket !== s) return;
      if (this.auth) s.write(encodeCommand(['AUTH', this.auth]));
      this.connected = true;
      this.failures = 0;
      this.ev.onConnected(this.addr);
    });
    s.on('data', (chunk) => this.onData(s, chunk));
    s.on('error', () => {
      /* close follows */
    });
    s.on('close', () => {
      clearTimeout(timer);
      this.lost(s);
    });
  }

  private lost(s: net.Socket): void {
    if (this.socket !== s) return;
    this.socket = null;
    this.connected = false;
    if (this.closed) return;
    this.failures++;
    const delay = Math.min(2000, 20 * 2 ** Math.min(this.failures, 7));
    this.retry = setTimeout(() => {
      this.retry = null;
      this.connect();
    }, delay);
    this.retry.unref();
  }

  private onData(s: net.Socket, chunk: Buffer): void {
    if (this.socket !== s) return;
    const buf = this.rest === null ? chunk : Buffer.concat([this.rest, chunk]);
    this.rest = null;
    let pos = 0;
    while (pos < buf.length) {
      let end: number;
      try {
        end = scanReply(buf, pos);
      } catch {
        s.destroy();
        return;
      }
      if (end < 0) {
        this.rest = Buffer.from(buf.subarray(pos));
        return;
      }
      this.frame(buf.subarray(pos, end));
      pos = end;
    }
  }

  private frame(f: Buffer): void {
    const els = arrayElements(f);
    if (els === null || els.length < 3) return; // +OK of AUTH, errors
    // Every index read below is < els.length (checked above or at the call).
    const at = (i: number): Buffer => {
      const e = els[i];
      return e === undefined ? NO_BYTES : bulkAt(f, e[0], e[1]);
    };
    const type = at(0).toString('latin1');
    switch (type) {
      case 'message':
        this.ev.onMessage('c', null, at(1), at(2));
        return;
      case 'smessage':
        this.ev.onMessage('s', null, at(1), at(2));
        return;
      case 'pmessage':
        if (els.length >= 4) this.ev.onMessage('p', at(1), at(2), at(3));
        return;
      case 'subscribe':
        this.ev.onConfirmed(this.addr, 'c', at(1).toString('latin1'));
        return;
      case 'psubscribe':
        this.ev.onConfirmed(this.addr, 'p', at(1).toString('latin1'));
        return;
      case 'ssubscribe':
        this.ev.onConfirmed(this.addr, 's', at(1).toString('latin1'));
        return;
      default:
        return;
    }
  }

  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.socket?.destroy();
    this.socket = null;
  }
}
