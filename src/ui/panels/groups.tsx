// Groups and servers: create/remove groups, add/remove servers (with datacenter), promote a replica
// (planned switchover; the promoting state shows while it runs), sync a server to its expected master,
// replica-read flags, memory/maxmemory, keys per DB, replication link, and loud warnings where the
// sentinels disagree with the group's master or a server replicates from the wrong place.
import { useState } from 'preact/hooks';
import { fmtBytes, fmtNum, groupColor, type GroupView, type ServerView } from '../cluster.js';
import { enc, type PanelProps, type Ops } from './types.js';

function ServerRow({ g, s, ops }: { g: GroupView; s: ServerView; ops: Ops }) {
  const link = s.error ? (
    <span class="bad">{s.error}</span>
  ) : s.isMaster ? (
    <span class={s.role && s.role !== 'master' ? 'bad' : ''}>{s.role || '?'}</span>
  ) : (
    <span class={s.linkStatus === 'up' ? '' : 'bad'}>
      {s.role || '?'} of {s.replicatesFrom || '?'}: link {s.linkStatus || '?'}
      {s.linkDownSeconds && s.linkDownSeconds > 0 ? ` (down ${s.linkDownSeconds} s)` : ''}
      {s.lagBytes !== undefined ? `, lag ${fmtBytes(s.lagBytes)}` : ''}
    </span>
  );
  return (
    <tr data-testid={`server-${s.addr}`} class={s.replicationProblem || s.error ? 'row-bad' : ''}>
      <td>{s.isMaster ? <b>master</b> : 'replica'}</td>
      <td>
        <code>{s.addr}</code>
      </td>
      <td>{s.datacenter || <span class="muted">–</span>}</td>
      <td data-testid="repl">
        {link}
        {s.replicationProblem ? (
          <div class="bad" role="alert">
            ⚠ {s.replicationProblem}
          </div>
        ) : null}
      </td>
      <td>
        {fmtBytes(s.usedMemory)} / {s.maxMemory ? fmtBytes(s.maxMemory) : 'no limit'}
      </td>
      <td>{s.error ? '' : s.keys.length ? s.keys.map((k) => `db${k.db}: ${fmtNum(k.keys)}`).join(', ') : '0'}</td>
      <td>
        <input
          type="checkbox"
          checked={s.replicaGroup}
          disabled={ops.readOnly}
          aria-label={`replica reads from ${s.addr}`}
          onChange={() =>
            ops.ask(
              `${s.replicaGroup ? 'Stop' : 'Start'} serving replica reads from ${s.addr} (group ${g.id})?`,
              `/api/topom/group/replica-groups/_/${g.id}/${enc(s.addr)}/${s.replicaGroup ? 0 : 1}`,
            )
          }
        />
      </td>
      <td>{s.actionState ? <span class={s.actionState === 'synced' ? '' : 'warn'}>{s.actionState}</span> : null}</td>
      <td class="actions">
        {ops.readOnly ? null : (
          <>
            {!s.isMaster ? (
              <button
                data-testid={`promote-${s.addr}`}
                disabled={Boolean(g.promoting)}
                onClick={() =>
                  ops.ask(
                    `Promote ${s.addr} to master of group ${g.id}? Writes to the group pause for a moment; ${g.master} becomes a replica of it.`,
                    `/api/topom/group/promote/_/${g.id}/${enc(s.addr)}`,
                  )
                }
              >
                Promote
              </button>
            ) : null}
            <button
              onClick={() =>
                ops.ask(
                  s.isMaster ? `Make ${s.addr} a master (REPLICAOF NO ONE)?` : `Make ${s.addr} replicate from ${g.master} (REPLICAOF)?`,
                  `/api/topom/group/action/create/_/${enc(s.addr)}`,
                )
              }
            >
              Sync
            </button>
            <button
              class="danger-text"
              data-testid={`del-${s.addr}`}
              onClick={() =>
                ops.ask(
                  `Remove server ${s.addr} from group ${g.id}? The server keeps running; the group stops using it.`,
                  `/api/topom/group/del/_/${g.id}/${enc(s.addr)}`,
                  { danger: true },
                )
              }
            >
              Remove
            </button>
          </>
        )}
      </td>
    </tr>
  );
}

export function Groups({ c, ops }: PanelProps) {
  const [gid, setGid] = useState('');
  const [addr, setAddr] = useState('');
  const [dc, setDc] = useState('');
  const [toGroup, setToGroup] = useState('');
  const target = toGroup || String(c.groups[0]?.id ?? '');
  return (
    <section aria-label="Groups and servers">
      {ops.readOnly ? null : (
        <>
          <form
            class="toolbar"
            onSubmit={(e) => {
              e.preventDefault();
              ops.ask(`Create group ${gid}?`, `/api/topom/group/create/_/${enc(gid)}`, { done: () => setGid('') });
            }}
          >
            <label>
              New group id{' '}
              <input value={gid} onInput={(e) => setGid((e.target as HTMLInputElement).value)} size={5} data-testid="new-group-id" />
            </label>
            <button type="submit" disabled={!gid} data-testid="new-group">
              Create group
            </button>
          </form>
          <form
            class="toolbar"
            onSubmit={(e) => {
              e.preventDefault();
              ops.ask(
                `Add server ${addr}${dc ? ` (datacenter ${dc})` : ''} to group ${target}? The first server of a group is its master.`,
                `/api/topom/group/add/_/${enc(target)}/${enc(addr)}${dc ? `/${enc(dc)}` : ''}`,
                { done: () => setAddr('') },
              );
            }}
          >
            <label>
              Server{' '}
              <input
                value={addr}
                placeholder="host:port"
                onInput={(e) => setAddr((e.target as HTMLInputElement).value)}
                data-testid="add-server-addr"
              />
            </label>
            <label>
              Datacenter <input value={dc} size={8} onInput={(e) => setDc((e.target as HTMLInputElement).value)} />
            </label>
            <label>
              to group{' '}
              <select value={target} onChange={(e) => setToGroup((e.target as HTMLSelectElement).value)} data-testid="add-server-group">
                {c.groups.map((g) => (
                  <option key={g.id} value={g.id}>
                    {g.id}
                  </option>
                ))}
              </select>
            </label>
            <button type="submit" disabled={!addr || !target} data-testid="add-server">
              Add server
            </button>
          </form>
          <div class="toolbar">
            <button onClick={() => ops.ask('Push the slot tables to every proxy again (all groups)?', '/api/topom/group/resync-all/_')}>
              Sync all groups
            </button>
            <button
              onClick={() =>
                ops.ask('Let every replica serve reads (replica groups on for all servers)?', '/api/topom/group/replica-groups-all/_/1')
              }
            >
              Replica reads: all on
            </button>
            <button
              onClick={() =>
                ops.ask('Stop all replica reads (replica groups off for all servers)?', '/api/topom/group/replica-groups-all/_/0')
              }
            >
              Replica reads: all off
            </button>
          </div>
        </>
      )}
      {c.groups.length === 0 ? <p class="muted">No group yet{ops.readOnly ? '' : ': create one, then add its master server'}.</p> : null}
      {c.groups.map((g) => (
        <div class="group" key={g.id} data-testid={`group-${g.id}`}>
          <h3>
            <i class="swatch" style={{ background: groupColor(g.id) }} />
            Group {g.id}{' '}
            <span class="muted">
              · {g.slots} slots · {g.servers.length} servers
            </span>
            {g.promoting ? <span class="bad"> · promoting ({g.promoting})</span> : null}
            {g.outOfSync ? (
              <span class="bad" role="alert">
                {' '}
                · OUT OF SYNC (a push did not reach every proxy: use Sync)
              </span>
            ) : null}
            {g.sentinelMismatch ? (
              <span class="bad" role="alert" data-testid={`ha-warning-${g.id}`}>
                {' '}
                · ⚠ sentinels say the master is {g.sentinelMismatch}, the group has {g.master}
              </span>
            ) : null}
            {ops.readOnly ? null : (
              <span class="right">
                <button
                  onClick={() =>
                    ops.ask(`Push the slot tables of group ${g.id} to every proxy again?`, `/api/topom/group/resync/_/${g.id}`)
                  }
                >
                  Sync
                </button>
                <button
                  class="danger-text"
                  data-testid={`remove-group-${g.id}`}
                  onClick={() =>
                    ops.ask(
                      `Remove group ${g.id}? Only an empty group without slots can be removed.`,
                      `/api/topom/group/remove/_/${g.id}`,
                      { danger: true },
                    )
                  }
                >
                  Remove group
                </button>
              </span>
            )}
          </h3>
          {g.servers.length === 0 ? (
            <p class="muted">No server yet: add one (it becomes the master).</p>
          ) : (
            <table class="grid">
              <thead>
                <tr>
                  <th>Role</th>
                  <th>Server</th>
                  <th>DC</th>
                  <th>Replication</th>
                  <th>Memory / max</th>
                  <th>Keys</th>
                  <th title="serve replica reads">Reads</th>
                  <th>Action</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {g.servers.map((s) => (
                  <ServerRow key={s.addr} g={g} s={s} ops={ops} />
                ))}
              </tbody>
            </table>
          )}
        </div>
      ))}
    </section>
  );
}
