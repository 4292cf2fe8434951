// Pub/sub frames as Redis writes them: messages and (un)subscribe confirmations, RESP2 arrays or
// RESP3 push frames. Pure.
import type { SubKind } from './subscriber-conn.js';

function frameHead(proto: 2 | 3, n: number): string {
  return `${proto === 3 ? '>' : '*'}${n}\r\n`;
}
export function bulkPart(b: Buffer): Buffer[] {
  return [Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n')];
}

/** A pub/sub message frame ("message"/"smessage"/"pmessage"), RESP2 array or RESP3 push. */
export function messageFrame(proto: 2 | 3, kind: SubKind, pattern: Buffer | null, channel: Buffer, message: Buffer): Buffer {
  const type = kind === 'p' ? 'pmessage' : kind === 's' ? 'smessage' : 'message';
  const parts: Buffer[] = [Buffer.from(frameHead(proto, kind === 'p' ? 4 : 3)), ...bulkPart(Buffer.from(type))];
  if (kind === 'p' && pattern !== null) parts.push(...bulkPart(pattern));
  parts.push(...bulkPart(channel), ...bulkPart(message));
  return Buffer.concat(parts);
}

/** A (un)subscribe confirmation: [type, name or null, count]. */
export function confirmFrame(proto: 2 | 3, type: string, name: Buffer | null, count: number): Buffer {
  const parts: Buffer[] = [Buffer.from(frameHead(proto, 3)), ...bulkPart(Buffer.from(type))];
  if (name === null) parts.push(Buffer.from(proto === 3 ? '_\r\n' : '$-1\r\n'));
  else parts.push(...bulkPart(name));
  parts.push(Buffer.from(`:${count}\r\n`));
  return Buffer.concat(parts);
}
