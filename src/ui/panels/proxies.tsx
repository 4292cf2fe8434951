// Proxies: register one by its admin address, reinit (push the table again + start), remove, force
// remove a dead one; per proxy ops/s, errors, sessions, backend states, links to its admin API, and a
// mark on proxies whose table is out of date (a failover switched them, or a push failed) until resynced.
import { useState } from 'preact/hooks';
import { fmtNum } from '../cluster.js';
import { enc, type PanelProps } from './types.js';

export function Proxies({ c, ops }: PanelProps) {
  const [addr, setAddr] = useState('');
  return (
    <section aria-label="Proxies">
      {ops.readOnly ? null : (
        <form
          class="toolbar"
          onSubmit={(e) => {
            e.preventDefault();
            ops.ask(`Register the proxy whose admin API is ${addr} and push it the slot table?`, `/api/topom/proxy/create/_/${enc(addr)}`, {
              done: () => setAddr(''),
            });
          }}
        >
          <label>
            Proxy admin address{' '}
            <input value={addr} placeholder="host:port" onInput={(e) => setAddr((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit" disabled={!addr}>
            New proxy
          </button>
          <button
            type="button"
            onClick={() => ops.ask('Push the full slot table to every proxy and start them (reinit all)?', '/api/topom/proxy/reinit-all/_')}
          >
            Reinit all
          </button>
        </form>
      )}
      <table class="grid" data-testid="proxy-table">
        <thead>
          <tr>
            <th>Id</th>
            <th>Proxy</th>
            <th>Admin API</th>
            <th>DC</th>
            <th>Status</th>
            <th>Ops/s</th>
            <th>Ops total / errors</th>
            <th>Sessions alive / total</th>
            <th>Backends</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {c.proxies.map((p) => {
            const status = p.error ? (
              <span class="bad">{p.error}</span>
            ) : p.needsResync ? (
              <span class="bad" title={p.lastPushError}>
                table out of date (switched or push failed){p.lastPushError ? `: ${p.lastPushError}` : ''}
              </span>
            ) : p.online ? (
              <span class="good">online</span>
            ) : (
              <span class="warn">waiting</span>
            );
            return (
              <tr key={p.token} data-testid={`proxy-${p.id}`} class={p.error || p.needsResync ? 'row-bad' : ''}>
                <td>{p.id}</td>
                <td>
                  <code>{p.proxyAddr}</code>
                </td>
                <td>
                  <code>{p.adminAddr}</code> {/* The proxy's other admin reads need its token in a header, which a link cannot send. */}
                  <a href={`http://${p.adminAddr}/health`} target="_blank" rel="noopener" class={p.primaryOnly ? 'warn' : ''}>
                    health
                  </a>
                </td>
                <td>{p.datacenter}</td>
                <td>{status}</td>
                <td>{fmtNum(p.opsPerSec)}</td>
                <td>
                  {fmtNum(p.opsTotal)} / <span class={p.fails ? 'warn' : ''}>{fmtNum(p.fails)}</span>
                </td>
                <td>
                  {p.sessionsAlive} / {p.sessionsTotal}
                </td>
                <td>
                  {p.backends.map(([st, n]) => (
                    <span key={st} class={st === 'connected' || st === 'ok' || st === 'up' ? '' : 'warn'}>
                      {st}: {n}{' '}
                    </span>
                  ))}
                </td>
                <td class="actions">
                  {ops.readOnly ? null : (
                    <>
                      <button
                        onClick={() =>
                          ops.ask(
                            `Push the full slot table to proxy ${p.id} (${p.adminAddr}) and start it?`,
                            `/api/topom/proxy/reinit/_/${enc(p.token)}`,
                          )
                        }
                      >
                        Reinit
                      </button>
                      <button
                        class="danger-text"
                        data-testid={`remove-proxy-${p.id}`}
                        onClick={() =>
                          ops.ask(
                            `Remove proxy ${p.id} (${p.proxyAddr})? It is shut down and its clients are disconnected.`,
                            `/api/topom/proxy/remove/_/${enc(p.token)}`,
                            { danger: true },
                          )
                        }
                      >
                        Remove
                      </button>
                      {p.error ? (
                        <button
                          class="danger"
                          onClick={() =>
                            ops.ask(
                              `Force-remove proxy ${p.id} (${p.adminAddr})? It does not answer; it is dropped from the product without being shut down.`,
                              `/api/topom/proxy/remove/_/${enc(p.token)}/1`,
                              { danger: true },
                            )
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
      {c.proxies.length === 0 ? <p class="muted">No proxy registered.</p> : null}
    </section>
  );
}
