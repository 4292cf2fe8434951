// Sentinels: add/remove/resync, what each sentinel sees, whether they agree with the dashboard, and the
// timeline of events kept by the dashboard (failovers, switch-master, promotions, migrations, ...).
import { useState } from 'preact/hooks';
import type { ConsoleEvent } from '../../models/console.js';
import { enc, type PanelProps } from './types.js';

const KIND_CLASS: Record<string, string> = { failover: 'bad', 'switch-master': 'bad', promotion: 'warn', server: 'warn' };

export function Timeline({ events, filter }: { events: ConsoleEvent[]; filter?: (e: ConsoleEvent) => boolean }) {
  const list = (filter ? events.filter(filter) : events).slice(-200).reverse();
  if (list.length === 0) return <p class="muted">No event yet (the dashboard keeps the last 500 since it became active).</p>;
  return (
    <ol class="timeline" data-testid="timeline">
      {list.map((e) => (
        <li key={e.id}>
          <time dateTime={new Date(e.t).toISOString()}>{new Date(e.t).toLocaleTimeString()}</time>
          <span class={`kind ${KIND_CLASS[e.kind] ?? ''}`}>{e.kind}</span>
          <span>{e.text}</span>
        </li>
      ))}
    </ol>
  );
}

export function Sentinels({ c, ops, events }: PanelProps & { events: ConsoleEvent[] }) {
  const [addr, setAddr] = useState('');
  const s = c.sentinels;
  return (
    <section aria-label="Sentinels">
      {ops.readOnly ? null : (
        <form
          class="toolbar"
          onSubmit={(e) => {
            e.preventDefault();
            ops.ask(`Add sentinel ${addr}? It will monitor every group of this product.`, `/api/topom/sentinels/add/_/${enc(addr)}`, {
              done: () => setAddr(''),
            });
          }}
        >
          <label>
            Sentinel <input value={addr} placeholder="host:port" onInput={(e) => setAddr((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit" disabled={!addr}>
            Add sentinel
          </button>
          <button
            type="button"
            class={s.outOfSync ? 'danger' : ''}
            onClick={() =>
              ops.ask(
                'Resync all sentinels (re-monitor every group) and push the sentinel list to the proxies?',
                '/api/topom/sentinels/resync-all/_',
              )
            }
          >
            Resync all
          </button>
        </form>
      )}
      <p
        data-testid="sentinel-agreement"
        class={s.disagreements.length ? 'bad' : 'good'}
        role={s.disagreements.length ? 'alert' : undefined}
      >
        {s.servers.length === 0
          ? 'No sentinel: failovers are not automatic.'
          : s.disagreements.length
            ? `⚠ ${s.disagreements.length} disagreement(s): ${s.disagreements.join('; ')}`
            : `All ${s.servers.length} sentinels agree with the dashboard on every group's master.`}
        {s.outOfSync ? ' · sentinel config OUT OF SYNC (resync pending)' : ''}
      </p>
      <table class="grid">
        <thead>
          <tr>
            <th>Sentinel</th>
            <th>Status</th>
            <th>Masters watched</th>
            <th>Down</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {s.servers.map((a) => {
            const st = s.perServer.get(a);
            return (
              <tr key={a} class={st?.error ? 'row-bad' : ''}>
                <td>
                  <code>{a}</code>
                </td>
                <td>{st?.error ? <span class="bad">{st.error}</span> : <span class="good">ok</span>}</td>
                <td>{st?.masters ?? ''}</td>
                <td class={st?.down ? 'bad' : ''}>{st?.down ?? ''}</td>
                <td class="actions">
                  {ops.readOnly ? null : (
                    <>
                      <button
                        class="danger-text"
                        onClick={() =>
                          ops.ask(
                            `Remove sentinel ${a}? It stops monitoring this product's groups.`,
                            `/api/topom/sentinels/del/_/${enc(a)}`,
                            { danger: true },
                          )
                        }
                      >
                        Remove
                      </button>
                      {st?.error ? (
                        <button
                          class="danger"
                          onClick={() =>
                            ops.ask(`Force-remove sentinel ${a} (it does not answer)?`, `/api/topom/sentinels/del/_/${enc(a)}/1`, {
                              danger: true,
                            })
                          }
                        >
                          Force remove
                        </button>
                      ) : null}
                    </>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <h3>Timeline</h3>
      <Timeline events={events} />
    </section>
  );
}
