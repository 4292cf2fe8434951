// Migrations: the executor's progress (bar, slots done/left, keys moved, keys/s, ETA), pause/resume,
// cancel pending, throttle (busy percent, interval), rebalance and drain with a preview of the plan,
// and the queue of slots with an action.
import { useState } from 'preact/hooks';
import { fmtNum, type Cluster, type SlotView } from '../cluster.js';
import { formatPlan, planCount } from '../plan.js';
import type { Ops } from './types.js';

function eta(c: Cluster): string {
  const a = c.action;
  const left = a.total - a.done;
  if (left <= 0 || a.done === 0 || a.elapsedMs <= 0) return '–';
  const s = Math.round(((a.elapsedMs / a.done) * left) / 1000);
  return s < 90 ? `${s} s` : `${Math.round(s / 60)} min`;
}

/** Consecutive slots with the same source, target and state, as one row. */
function runs(queue: SlotView[]): Array<{ first: number; last: number; gid: number; target: number; state: string }> {
  const out: Array<{ first: number; last: number; gid: number; target: number; state: string }> = [];
  for (const s of queue) {
    const r = out[out.length - 1];
    if (r && r.last === s.id - 1 && r.gid === s.gid && r.target === s.target && r.state === s.state) r.last = s.id;
    else out.push({ first: s.id, last: s.id, gid: s.gid, target: s.target, state: s.state });
  }
  return out;
}

export function Migrations({ c, ops }: { c: Cluster; ops: Ops }) {
  const a = c.action;
  const [busy, setBusy] = useState<number | null>(null);
  const [interval, setIntervalUs] = useState<string>('');
  const [drain, setDrain] = useState<number>(0);
  const queue = c.slots.filter((s) => s.state);
  const pct = a.total > 0 ? Math.round((a.done / a.total) * 100) : 0;
  const busyValue = busy ?? a.busyPercent;
  const preview = async (what: 'rebalance' | 'drain'): Promise<void> => {
    const gid = drain || c.groups.find((g) => g.slots > 0)?.id || 0;
    const path = what === 'rebalance' ? '/api/topom/slots/rebalance/_/0' : `/api/topom/slots/action/drain/_/${gid}/0`;
    const r = await ops.call('PUT', path);
    if (!r.ok) {
      ops.note(`${what} preview failed: ${r.error}`, true);
      return;
    }
    const plan = (r.body.plan ?? {}) as Record<string, number>;
    const n = planCount(plan);
    if (n === 0) {
      ops.note(
        what === 'rebalance' ? 'Rebalance: the slots are already even, nothing to move.' : `Drain: group ${gid} owns no slots.`,
        false,
      );
      return;
    }
    ops.ask(
      what === 'rebalance'
        ? `Rebalance: migrate ${n} slots so every group owns about the same number?`
        : `Drain group ${gid}: migrate its ${n} slots to the other groups?`,
      what === 'rebalance' ? '/api/topom/slots/rebalance/_/1' : `/api/topom/slots/action/drain/_/${gid}/1`,
      { detail: formatPlan(plan) },
    );
  };
  return (
    <section aria-label="Migrations">
      <div class="progress-box" data-testid="migration-progress">
        <div class="bar" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-label="migration progress">
          <div style={{ width: `${pct}%` }} />
        </div>
        <p>
          <b data-testid="mig-state">
            {a.state || 'idle'}
            {a.disabled ? ' (paused)' : ''}
          </b>
          {' · '}
          <span data-testid="mig-done">{a.done}</span> / {a.total} slots done, {a.total - a.done} left
          {' · '}
          {fmtNum(a.keysMoved)} keys moved · {fmtNum(a.keysPerSec)} keys/s · ETA {eta(c)}
          {a.errors ? (
            <span class="bad">
              {' '}
              · {a.errors} errors (last: {a.lastError})
            </span>
          ) : null}
          {a.waitingFor ? <span class="warn"> · waiting for {a.waitingFor}</span> : null}
        </p>
        {a.status ? <p class="muted">{a.status}</p> : null}
      </div>
      {ops.readOnly ? null : (
        <div class="toolbar">
          {a.disabled ? (
            <button class="primary" onClick={() => ops.ask('Resume slot migrations?', '/api/topom/slots/action/disabled/_/0')}>
              Resume
            </button>
          ) : (
            <button
              onClick={() =>
                ops.ask('Pause slot migrations? A batch already under way is finished first.', '/api/topom/slots/action/disabled/_/1')
              }
            >
              Pause
            </button>
          )}
          <button
            disabled={a.pending === 0 && !queue.some((s) => s.state === 'pending')}
            onClick={() =>
              ops.ask('Cancel every pending slot migration? Slots already moving finish.', '/api/topom/slots/action/remove-pending/_')
            }
          >
            Cancel pending
          </button>
          <label>
            Busy % while clients are active
            <input
              type="range"
              min={1}
              max={100}
              value={busyValue}
              onInput={(e) => setBusy(Number((e.target as HTMLInputElement).value))}
              aria-valuetext={`${busyValue} percent`}
            />
            <output>{busyValue}%</output>
          </label>
          <button
            disabled={busy === null || busy === a.busyPercent}
            onClick={() =>
              ops.ask(
                `Let the migration executor keep each source busy up to ${busyValue}% of the time while clients are active?`,
                `/api/topom/slots/action/busy/_/${busyValue}`,
                { done: () => setBusy(null) },
              )
            }
          >
            Apply
          </button>
          <label>
            Interval µs{' '}
            <input
              type="number"
              min={0}
              max={1000000}
              value={interval === '' ? a.intervalUs : interval}
              onInput={(e) => setIntervalUs((e.target as HTMLInputElement).value)}
            />
          </label>
          <button
            disabled={interval === ''}
            onClick={() =>
              ops.ask(`Sleep ${interval} µs between key batches?`, `/api/topom/slots/action/interval/_/${Number(interval)}`, {
                done: () => setIntervalUs(''),
              })
            }
          >
            Set
          </button>
        </div>
      )}
      {ops.readOnly ? null : (
        <div class="toolbar">
          <button onClick={() => void preview('rebalance')} data-testid="rebalance">
            Rebalance all slots…
          </button>
          <label>
            Drain group{' '}
            <select value={drain} onChange={(e) => setDrain(Number((e.target as HTMLSelectElement).value))}>
              <option value={0}>choose</option>
              {c.groups
                .filter((g) => g.slots > 0)
                .map((g) => (
                  <option key={g.id} value={g.id}>
                    {g.id} ({g.slots} slots)
                  </option>
                ))}
            </select>
          </label>
          <button disabled={!drain} onClick={() => void preview('drain')}>
            Drain…
          </button>
        </div>
      )}
      <h3>Queue ({queue.length} slots with an action)</h3>
      {queue.length === 0 ? (
        <p class="muted">No slot is queued or migrating.</p>
      ) : (
        <table class="grid" data-testid="mig-queue">
          <thead>
            <tr>
              <th>Slots</th>
              <th>Count</th>
              <th>From group</th>
              <th>To group</th>
              <th>State</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {runs(queue).map((r) => (
              <tr key={r.first}>
                <td>{r.first === r.last ? r.first : `${r.first}–${r.last}`}</td>
                <td>{r.last - r.first + 1}</td>
                <td>{r.gid}</td>
                <td>{r.target}</td>
                <td class={r.state === 'pending' ? '' : 'warn'}>{r.state}</td>
                <td>
                  {!ops.readOnly && r.state === 'pending' && r.first === r.last ? (
                    <button
                      onClick={() =>
                        ops.ask(`Cancel the pending migration of slot ${r.first}?`, `/api/topom/slots/action/remove/_/${r.first}`)
                      }
                    >
                      Cancel
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
