// Turns a rebalance/drain plan ({"slot": targetGroup}) into readable lines: "group 2 <== 0-99, 300".
export function planCount(plan: Record<string, number>): number {
  return Object.keys(plan).length;
}

export function formatPlan(plan: Record<string, number>): string {
  const by = new Map<number, number[]>();
  for (const [sid, gid] of Object.entries(plan)) {
    const l = by.get(gid) ?? [];
    l.push(Number(sid));
    by.set(gid, l);
  }
  const lines: string[] = [];
  for (const [gid, ids] of [...by.entries()].sort((a, b) => a[0] - b[0])) {
    ids.sort((a, b) => a - b);
    const parts: string[] = [];
    let i = 0;
    while (i < ids.length) {
      let j = i;
      while (j + 1 < ids.length && ids[j + 1] === (ids[j] ?? NaN) + 1) j++;
      parts.push(i === j ? `${ids[i]}` : `${ids[i]}-${ids[j]}`);
      i = j + 1;
    }
    lines.push(`group ${gid} <== ${ids.length} slots: ${parts.join(', ')}`);
  }
  return lines.join('\n');
}
