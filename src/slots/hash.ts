// Slot hashing, Codis-compatible: slot = crc32_ieee(hashkey) % 1024, where the hash key is the text
// between the first '{' and the first '}' after it when both exist (an empty "{}" hashes "").
export const MAX_SLOT_NUM = 1024;

const TABLE = (() => {
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, as Go's crc32.ChecksumIEEE) of buf[start, end). */
export function crc32(buf: Uint8Array, start = 0, end = buf.length): number {
  let c = -1;
  // Hot path: i < end <= buf.length, and a value & 0xff always indexes the 256-entry TABLE.
  for (let i = start; i < end; i++) c = TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** Slot of the key stored in buf[start, end), applying the hash-tag rule. */
export function slotOfRange(buf: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) {
    if (buf[i] === 0x7b /* { */) {
      for (let j = i + 1; j < end; j++) {
        if (buf[j] === 0x7d /* } */) return crc32(buf, i + 1, j) % MAX_SLOT_NUM;
      }
      break;
    }
  }
  return crc32(buf, start, end) % MAX_SLOT_NUM;
}

export function slotOf(key: string | Uint8Array): number {
  const b = typeof key === 'string' ? Buffer.from(key) : key;
  return slotOfRange(b, 0, b.length);
}

/** The hash key (tag content, or the whole key) of a key, as Codis computes it. */
export function hashKeyOf(key: string): string {
  const i = key.indexOf('{');
  if (i >= 0) {
    const j = key.indexOf('}', i + 1);
    if (j >= 0) return key.slice(i + 1, j);
  }
  return key;
}
