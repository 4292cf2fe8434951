// Redis's glob matcher (the one behind KEYS, SCAN MATCH, PSUBSCRIBE and ACL key/channel patterns):
// `*`, `?`, `[abc]`, `[^abc]`, `[a-z]` and `\x` escapes, over bytes. The proxy needs it to check ACL
// key and channel patterns itself, exactly as a redis-server would, before forwarding a request.
// Written from the documented behaviour of Redis's stringmatchlen; pure, no I/O.

const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const BACKSLASH = 0x5c;
const CARET = 0x5e;
const DASH = 0x2d;

const lower = (c: number): number => (c >= 0x41 && c <= 0x5a ? c + 32 : c);

/** Bytes of a pattern or subject; strings are taken as UTF-8. */
export type GlobInput = Buffer | string;
const bytes = (v: GlobInput): Buffer => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v);

/**
 * Matches `subject` against `pattern` as Redis does. `nocase` folds ASCII letters. Patterns with many
 * stars cannot blow up: once the rest of the pattern failed to match at every later position, longer
 * matches of an earlier star are not tried again (Redis does the same).
 */
export function globMatch(pattern: GlobInput, subject: GlobInput, nocase = false): boolean {
  const p = bytes(pattern);
  const s = bytes(subject);
  const state = { giveUp: false };
  return matchAt(p, 0, s, 0, nocase, state);
}

function matchAt(p: Buffer, pi: number, s: Buffer, si: number, nocase: boolean, state: { giveUp: boolean }): boolean {
  const pl = p.length;
  const sl = s.length;
  while (pi < pl && si < sl) {
    const pc = p[pi] as number;
    if (pc === STAR) {
      while (pi + 1 < pl && p[pi + 1] === STAR) pi++;
      if (pi + 1 === pl) return true;
      for (let k = si; k < sl; k++) {
        if (matchAt(p, pi + 1, s, k, nocase, state)) return true;
        if (state.giveUp) return false;
      }
      state.giveUp = true;
      return false;
    }
    if (pc === QUESTION) {
      pi++;
      si++;
      continue;
    }
    if (pc === OPEN) {
      const r = matchClass(p, pi + 1, s[si] as number, nocase);
      if (!r.match) return false;
      pi = r.next;
      si++;
      continue;
    }
    let want = pc;
    if (pc === BACKSLASH && pi + 1 < pl) {
      pi++;
      want = p[pi] as number;
    }
    const got = s[si] as number;
    if (nocase ? lower(want) !== lower(got) : want !== got) return false;
    pi++;
    si++;
  }
  // The subject was used up by the loop: what is left of the pattern may be stars only. (Like Redis,
  // an empty subject skips no stars: "*" does not match "".)
  if (si === sl && sl > 0) {
    while (pi < pl && p[pi] === STAR) pi++;
  }
  return pi === pl && si === sl;
}

/** A `[...]` class starting after the `[` at `pi`; returns whether `c` matched and where the pattern goes on. */
function matchClass(p: Buffer, pi: number, c: number, nocase: boolean): { match: boolean; next: number } {
  const pl = p.length;
  const negate = pi < pl && p[pi] === CARET;
  if (negate) pi++;
  let match = false;
  for (;;) {
    if (pi >= pl) {
      // Unterminated class: Redis treats the end of the pattern as the closing bracket.
      break;
    }
    const pc = p[pi] as number;
    if (pc === BACKSLASH && pi + 1 < pl) {
      if (p[pi + 1] === c) match = true;
      pi += 2;
    } else if (pc === CLOSE) {
      pi++;
      break;
    } else if (pi + 2 < pl && p[pi + 1] === DASH) {
      let start = pc;
      let end = p[pi + 2] as number;
      let x = c;
      if (start > end) [start, end] = [end, start];
      if (nocase) {
        start = lower(start);
        end = lower(end);
        x = lower(x);
      }
      if (x >= start && x <= end) match = true;
      pi += 3;
    } else {
      if (nocase ? lower(pc) === lower(c) : pc === c) match = true;
      pi++;
    }
  }
  return { match: negate ? !match : match, next: pi };
}
