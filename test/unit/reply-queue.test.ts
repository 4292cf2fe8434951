// ReplyQueue's slot reuse (head/tail over an array that is not emptied per request) and its
// compaction after a deep queue: replies must still leave in request order, whatever order the
// backends answer in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplyQueue, type Pending } from '../../src/proxy/reply-queue.js';
import { ProxyStats } from '../../src/proxy/stats.js';
import { defaultProxyConfig } from '../../src/proxy/config.js';
import type { ProxyContext } from '../../src/proxy/context.js';

function queue(): { q: ReplyQueue; out: string[] } {
  const out: string[] = [];
  const ctx = { config: defaultProxyConfig(), stats: new ProxyStats() } as unknown as ProxyContext;
  const q = new ReplyQueue({
    ctx,
    remote: 'x',
    name: '',
    isClosed: () => false,
    emit: (b, s, e) => out.push(b.toString('latin1', s, e)),
    drain: () => {},
    afterReplies: () => {},
  });
  return { q, out };
}

const R = (i: number): Buffer => Buffer.from(`:${i}\r\n`);

/** A deterministic shuffle (xorshift), so a failure is reproducible. */
function shuffled<T>(xs: T[], seed: number): T[] {
  const a = [...xs];
  let s = seed;
  for (let i = a.length - 1; i > 0; i--) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const j = Math.abs(s) % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

test('reply queue: slots reused after the queue empties keep request order (pipeline 1 and small bursts); replies given as ranges of a shared read reach the client exactly', () => {
  const { q, out } = queue();
  let next = 0;
  const expected: string[] = [];
  for (let round = 0; round < 200; round++) {
    const n = 1 + (round % 7);
    const ps: Array<[Pending, number]> = [];
    for (let k = 0; k < n; k++) {
      ps.push([q.defer(null, null), next]);
      expected.push(`:${next}\r\n`);
      next++;
    }
    assert.equal(q.length, n);
    for (const [p, i] of shuffled(ps, round + 1)) {
      // Every other reply arrives as a range of a bigger read, as a backend connection delivers them.
      if (i % 2 === 0) p.onReply(R(i));
      else {
        const read = Buffer.concat([Buffer.from('junk'), R(i), Buffer.from('more')]);
        p.onReplyAt(read, 4, read.length - 4);
      }
    }
    assert.equal(q.length, 0);
  }
  assert.deepEqual(out, expected);
});

test('reply queue: a deep queue is compacted past 4096 answered slots without losing or reordering replies', () => {
  const { q, out } = queue();
  const ps: Pending[] = [];
  for (let i = 0; i < 6000; i++) ps.push(q.defer(null, null));
  for (let i = 0; i < 4500; i++) ps[i]!.onReply(R(i)); // head passes 4096 with 1500 still waiting
  assert.equal(q.length, 1500);
  for (let i = 6000; i < 6010; i++) ps.push(q.defer(null, null));
  const rest = shuffled(
    Array.from({ length: 1510 }, (_, k) => 4500 + k),
    7,
  );
  for (const i of rest) ps[i]!.onReply(R(i));
  assert.equal(q.length, 0);
  assert.equal(out.length, 6010);
  assert.deepEqual(
    out,
    Array.from({ length: 6010 }, (_, i) => `:${i}\r\n`),
  );
  // And it is usable again afterwards.
  const a = q.defer(null, null),
    b = q.defer(null, null);
  b.onReply(R(1));
  a.onReply(R(0));
  assert.deepEqual(out.slice(-2), [':0\r\n', ':1\r\n']);
});
