// Slot map: the 1024 slots as a 64×16 grid coloured by owning group (or by request rate: a heat map
// from the proxies' per-slot counters), migrating slots striped in the target's colour, offline slots
// crossed. Hover names the slot; drag with the mouse (or type the range) to select slots and migrate
// them to a group.
import { useEffect, useState } from 'preact/hooks';
import { groupColor, type Cluster, type SlotView } from '../cluster.js';
import type { Ops } from './types.js';

/** Cold (dark blue) → hot (red), on a square-root scale so a few hot slots stand out from a warm rest. */
function heatColor(rate: number, max: number): string {
  if (rate <= 0 || max <= 0) return '#262c36';
  const x = Math.sqrt(rate / max);
  return `hsl(${Math.round(230 - 230 * x)} 85% ${Math.round(28 + 27 * x)}%)`;
}

function slotText(s: SlotView | undefined, c: Cluster, rate: number | undefined): string {
  if (!s) return 'Hover a slot to see its owner; drag to select a range.';
  const g = c.groups.find((x) => x.id === s.gid);
  let t = `slot ${s.id}: ${s.gid ? `group ${s.gid}${g?.master ? ` (master ${g.master})` : ''}` : 'offline (no group)'}`;
  if (s.state) t += `, migrating → group ${s.target} (${s.state})`;
  if (rate !== undefined) t += `, ${rate} ops/s`;
  return t;
}

export function SlotMap({ c, ops, slotOps }: { c: Cluster; ops: Ops; slotOps: number[] | null }) {
  const [heat, setHeat] = useState(false);
  const [hover, setHover] = useState<number | null>(null);
  const [sel, setSel] = useState<{ a: number; b: number } | null>(null);
  const [dragging, setDragging] = useState(false);
  const [target, setTarget] = useState<number>(0);
  useEffect(() => {
    const up = (): void => setDragging(false);
    window.addEventListener('mouseup', up);
    return () => window.removeEventListener('mouseup', up);
  }, []);
  const lo = sel ? Math.min(sel.a, sel.b) : -1;
  const hi = sel ? Math.max(sel.a, sel.b) : -1;
  const showHeat = heat && slotOps !== null;
  const max = showHeat ? Math.max(...slotOps) : 0;
  const slotOf = (e: Event): number | null => {
    const v = (e.target as HTMLElement).dataset.slot;
    return v === undefined ? null : Number(v);
  };
  const groupsWithServers = c.groups.filter((g) => g.servers.length > 0);
  const tgt = target || groupsWithServers[0]?.id || 0;
  const counts = new Map<number, number>();
  for (const s of c.slots) counts.set(s.gid, (counts.get(s.gid) ?? 0) + 1);
  const migrate = (): void => {
    if (lo < 0) return;
    ops.ask(
      `Migrate slots ${lo}–${hi} (${hi - lo + 1} slots) to group ${tgt}? Their keys move online from their current groups; clients keep working.`,
      `/api/topom/slots/action/create-range/_/${lo}/${hi}/${tgt}`,
      { done: () => setSel(null) },
    );
  };
  const assign = (): void => {
    if (lo < 0) return;
    ops.ask(
      `Assign slots ${lo}–${hi} to group ${tgt} WITHOUT moving keys? Only for offline (unassigned) slots; keys already in another group would be lost to clients.`,
      `/api/topom/slots/assign-range/_/${lo}/${hi}/${tgt}`,
      { danger: true, done: () => setSel(null) },
    );
  };
  return (
    <section aria-label="Slot map">
      <div class="toolbar">
        <label>
          <input
            type="checkbox"
            checked={heat}
            disabled={slotOps === null}
            onChange={(e) => setHeat((e.target as HTMLInputElement).checked)}
          />{' '}
          ops heat map
        </label>
        {slotOps === null ? <span class="muted">(the proxies report no per-slot counters)</span> : null}
        {showHeat ? (
          <span class="legend">
            <span class="chip">
              <i style={{ background: heatColor(0.01, 1) }} />
              cold
            </span>
            <span class="chip">
              <i style={{ background: heatColor(1, 1) }} />
              {max} ops/s (hottest slot)
            </span>
          </span>
        ) : null}
        {showHeat ? null : (
          <span class="legend">
            {[...counts.entries()]
              .sort((a, b) => a[0] - b[0])
              .map(([gid, n]) => (
                <span key={gid} class="chip">
                  <i style={{ background: groupColor(gid) }} />
                  {gid ? `group ${gid}` : 'offline'}: {n}
                </span>
              ))}
            <span class="chip">
              <i class="mig-chip" />
              migrating: {c.totals.slotsMigrating}
            </span>
          </span>
        )}
      </div>
      <div
        class={`slotgrid${dragging ? ' dragging' : ''}`}
        data-testid="slot-grid"
        role="grid"
        aria-label="1024 slots, 64 per row"
        onMouseDown={(e) => {
          const s = slotOf(e);
          if (s !== null) {
            e.preventDefault();
            setSel({ a: s, b: s });
            setDragging(true);
          }
        }}
        onMouseOver={(e) => {
          const s = slotOf(e);
          if (s === null) return;
          setHover(s);
          if (dragging) setSel((v) => (v ? { a: v.a, b: s } : v));
        }}
        onMouseLeave={() => setHover(null)}
      >
        {c.slots.map((s) => {
          const label =
            s.id % 64 === 0 ? (
              <span key={`r${s.id}`} class="rl" aria-hidden="true">
                {s.id}
              </span>
            ) : null;
          const bg = showHeat ? heatColor(slotOps[s.id] ?? 0, max) : groupColor(s.gid);
          const cls = `s${s.state ? ' mig' : ''}${s.gid ? '' : ' off'}${s.id >= lo && s.id <= hi ? ' sel' : ''}`;
          return [
            label,
            <div
              key={s.id}
              class={cls}
              data-slot={s.id}
              data-gid={s.gid}
              style={s.state ? `background:${bg};--t:${groupColor(s.target)}` : `background:${bg}`}
            />,
          ];
        })}
      </div>
      <p class="hover" data-testid="slot-hover" aria-live="polite">
        {slotText(hover === null ? undefined : c.slots[hover], c, hover !== null && slotOps ? slotOps[hover] : undefined)}
      </p>
      {ops.readOnly ? null : (
        <form
          class="toolbar"
          onSubmit={(e) => {
            e.preventDefault();
            migrate();
          }}
        >
          <label>
            Slots{' '}
            <input
              type="number"
              min={0}
              max={1023}
              value={lo < 0 ? '' : lo}
              aria-label="first slot"
              data-testid="sel-from"
              onInput={(e) => {
                const v = Number((e.target as HTMLInputElement).value);
                setSel({ a: v, b: Math.max(v, hi) });
              }}
            />
          </label>
          <label>
            to{' '}
            <input
              type="number"
              min={0}
              max={1023}
              value={hi < 0 ? '' : hi}
              aria-label="last slot"
              data-testid="sel-to"
              onInput={(e) => {
                const v = Number((e.target as HTMLInputElement).value);
                setSel({ a: lo < 0 ? v : lo, b: v });
              }}
            />
          </label>
          <label>
            → group{' '}
            <select value={tgt} onChange={(e) => setTarget(Number((e.target as HTMLSelectElement).value))} data-testid="sel-group">
              {groupsWithServers.map((g) => (
                <option key={g.id} value={g.id}>
                  {g.id}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" class="primary" disabled={lo < 0 || !tgt} data-testid="migrate-range">
            Migrate {lo < 0 ? 'selection' : `${hi - lo + 1} slots`}
          </button>
          <button type="button" disabled={lo < 0 || !tgt} onClick={assign}>
            Assign offline slots (no data moved)
          </button>
          {sel ? (
            <button type="button" onClick={() => setSel(null)}>
              Clear selection
            </button>
          ) : null}
        </form>
      )}
    </section>
  );
}
