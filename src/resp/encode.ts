// RESP2/RESP3 reply encoding for replies the proxy builds itself. Values are a small tagged model so
// one value can be written in either protocol (maps become flat arrays in RESP2, etc.).
export type RespValue =
  | { t: 'simple'; v: string }
  | { t: 'error'; v: string }
  | { t: 'int'; v: number | bigint }
  | { t: 'bulk'; v: string | Buffer }
  | { t: 'null' }
  | { t: 'array'; v: RespValue[] }
  | { t: 'map'; v: Array<[RespValue, RespValue]> }
  | { t: 'set'; v: RespValue[] }
  | { t: 'double'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'verbatim'; v: string; format?: string }
  | { t: 'raw'; v: Buffer };

export const CRLF = Buffer.from('\r\n');
export const OK = Buffer.from('+OK\r\n');
export const PONG = Buffer.from('+PONG\r\n');
export const NULL_BULK_2 = Buffer.from('$-1\r\n');
export const NULL_3 = Buffer.from('_\r\n');

export const simple = (v: string): RespValue => ({ t: 'simple', v });
export const bulk = (v: string | Buffer): RespValue => ({ t: 'bulk', v });
export const int = (v: number | bigint): RespValue => ({ t: 'int', v });
export const arr = (v: RespValue[]): RespValue => ({ t: 'array', v });
export const map = (v: Array<[RespValue, RespValue]>): RespValue => ({ t: 'map', v });
export const nil: RespValue = { t: 'null' };

/**
 * An error reply line. `msg` should start with a code such as "ERR" or "CROSSSLOT"; 'latin1' when it is a
 * binary string that echoes client bytes (unknown-command texts).
 */
export function errorReply(msg: string, encoding: 'utf8' | 'latin1' = 'utf8'): Buffer {
  return Buffer.from(`-${msg.replace(/[\r\n]+/g, ' ')}\r\n`, encoding);
}

export function bulkReply(v: string | Buffer): Buffer {
  const b = typeof v === 'string' ? Buffer.from(v) : v;
  return Buffer.concat([Buffer.from(`$${b.length}\r\n`), b, CRLF]);
}

export function intReply(n: number | bigint): Buffer {
  return Buffer.from(`:${n}\r\n`);
}

function write(out: Buffer[], val: RespValue, proto: 2 | 3): void {
  switch (val.t) {
    case 'simple':
      out.push(Buffer.from(`+${val.v.replace(/[\r\n]+/g, ' ')}\r\n`));
      return;
    case 'error':
      out.push(errorReply(val.v));
      return;
    case 'int':
      out.push(intReply(val.v));
      return;
    case 'bulk':
      out.push(bulkReply(val.v));
      return;
    case 'null':
      out.push(proto === 3 ? NULL_3 : NULL_BULK_2);
      return;
    case 'raw':
      out.push(val.v);
      return;
    case 'double':
      if (proto === 3) out.push(Buffer.from(`,${Number.isFinite(val.v) ? val.v : val.v > 0 ? 'inf' : val.v < 0 ? '-inf' : 'nan'}\r\n`));
      else out.push(bulkReply(String(val.v)));
      return;
    case 'bool':
      out.push(proto === 3 ? Buffer.from(val.v ? '#t\r\n' : '#f\r\n') : intReply(val.v ? 1 : 0));
      return;
    case 'verbatim':
      if (proto === 3) {
        const body = Buffer.from(`${val.format ?? 'txt'}:${val.v}`);
        out.push(Buffer.from(`=${body.length}\r\n`), body, CRLF);
      } else out.push(bulkReply(val.v));
      return;
    case 'array':
    case 'set':
      out.push(Buffer.from(`${val.t === 'set' && proto === 3 ? '~' : '*'}${val.v.length}\r\n`));
      for (const e of val.v) write(out, e, proto);
      return;
    case 'map':
      out.push(Buffer.from(proto === 3 ? `%${val.v.length}\r\n` : `*${val.v.length * 2}\r\n`));
      for (const [k, v] of val.v) {
        write(out, k, proto);
        write(out, v, proto);
      }
      return;
  }
}

/** Encodes a value for a client speaking RESP `proto`. */
export function encode(val: RespValue, proto: 2 | 3): Buffer {
  const out: Buffer[] = [];
  write(out, val, proto);
  const only = out.length === 1 ? out[0] : undefined;
  return only ?? Buffer.concat(out);
}

/** Encodes a command (array of bulk strings) as sent to a backend. */
export function encodeCommand(args: Array<string | Buffer>): Buffer {
  const out: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) out.push(bulkReply(a));
  return Buffer.concat(out);
}
