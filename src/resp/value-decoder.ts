// Decodes one whole RESP2/RESP3 reply into the tagged RespValue model of encode.ts (bulk strings as
// UTF-8 text), so encode(decodeValue(x)) gives x back for the types Redis sends. For tools and tests
// (the command-table generator, the COMMAND reply checks): the proxy's hot path only frames replies
// (reply-scanner.ts) and never builds values.
import type { RespValue } from './encode.js';

/** Decodes the value at buf[pos]: [value, next position], or undefined when the reply is incomplete. */
export function decodeValue(buf: Buffer, pos = 0): [RespValue, number] | undefined {
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[pos] ?? 0); // pos < eol < buf.length: always a byte
  const line = buf.toString('utf8', pos + 1, eol);
  let p = eol + 2;
  switch (type) {
    case '+':
      return [{ t: 'simple', v: line }, p];
    case '-':
      return [{ t: 'error', v: line }, p];
    case ':':
      return [{ t: 'int', v: Number(line) }, p];
    case '(':
      return [{ t: 'int', v: BigInt(line) }, p];
    case '_':
      return [{ t: 'null' }, p];
    case ',':
      return [{ t: 'double', v: line === 'inf' ? Infinity : line === '-inf' ? -Infinity : Number(line) }, p];
    case '#':
      return [{ t: 'bool', v: line === 't' }, p];
    case '$':
    case '=': {
      const n = Number(line);
      if (n < 0) return [{ t: 'null' }, p];
      if (buf.length < p + n + 2) return undefined;
      const text = buf.toString('utf8', p, p + n);
      return [type === '$' ? { t: 'bulk', v: text } : { t: 'verbatim', format: text.slice(0, 3), v: text.slice(4) }, p + n + 2];
    }
    case '*':
    case '~':
    case '%': {
      const n = Number(line);
      if (n < 0) return [{ t: 'null' }, p];
      const items: RespValue[] = [];
      for (let i = 0; i < (type === '%' ? 2 * n : n); i++) {
        const r = decodeValue(buf, p);
        if (!r) return undefined;
        items.push(r[0]);
        p = r[1];
      }
      if (type === '%') {
        const pairs: Array<[RespValue, RespValue]> = [];
        for (let i = 0; i + 1 < items.length; i += 2) {
          const k = items[i],
            v = items[i + 1];
          if (k !== undefined && v !== undefined) pairs.push([k, v]);
        }
        return [{ t: 'map', v: pairs }, p];
      }
      return [{ t: type === '~' ? 'set' : 'array', v: items }, p];
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`);
  }
}
