// Owns talking to HAProxy's Runtime API (the `stats socket ... level admin`): one command per
// connection (non-interactive mode), on a unix socket path or a loopback host:port; parsing of
// `show servers state` and `show stat`; and the drain sequence used by the sync agent and by
// `shardis admin proxy offline`: weight 0 + state drain, wait for the server's sessions to end (bounded),
// then maintenance and `del server` — no reload, so no connection is dropped by HAProxy.
import net from 'node:net';

export class RuntimeApiError extends Error {
  override readonly name = 'RuntimeApiError';
}

export async function runtimeCommand(api: string, cmd: string, timeoutMs = 5000): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const i = api.lastIndexOf(':');
    const sock = api.startsWith('/') ? net.connect(api) : net.connect(Number(api.slice(i + 1)), api.slice(0, i));
    const chunks: Buffer[] = [];
    const t = setTimeout(() => {
      sock.destroy();
      reject(new RuntimeApiError(`HAProxy Runtime API ${api}: no answer to "${cmd.split(' ')[0]}" within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('connect', () => sock.end(cmd + '\n'));
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', (e) => {
      clearTimeout(t);
      reject(new RuntimeApiError(`HAProxy Runtime API ${api}: ${e.message}`));
    });
    sock.on('close', () => {
      clearTimeout(t);
      resolve(Buffer.concat(chunks).toString());
    });
  });
}

export interface ServerState {
  name: string;
  addr: string;
  /** 0 stopped (check failed), 1 starting, 2 running, 3 stopping. */
  opState: number;
  /** srv_admin_state bits: 0x01 forced maintenance, 0x08 forced drain, 0x20 maintenance via the API (CMAINT). */
  adminState: number;
  weight: number;
}

/** `show servers state <backend>` (the server-state-file format, version 1). */
export async function showServers(api: string, backend: string): Promise<ServerState[]> {
  const text = await runtimeCommand(api, `show servers state ${backend}`);
  if (/Can't find backend/i.test(text)) throw new RuntimeApiError(`HAProxy ${api}: no backend "${backend}"`);
  const out: ServerState[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#') || /^\d+$/.test(line.trim())) continue;
    const f = line.trim().split(/\s+/);
    const name = f[3];
    if (f.length < 19 || f[1] !== backend || name === undefined) continue;
    out.push({ name, addr: `${f[4]}:${f[18]}`, opState: Number(f[5]), adminState: Number(f[6]), weight: Number(f[7]) });
  }
  return out;
}

/** Current sessions per server of `backend` (`show stat`, column scur). */
export async function serverSessions(api: string, backend: string): Promise<Map<string, number>> {
  const text = await runtimeCommand(api, 'show stat');
  const lines = text.split('\n');
  const head = (lines[0] ?? '').replace(/^# /, '').split(',');
  const px = head.indexOf('pxname'),
    sv = head.indexOf('svname'),
    scur = head.indexOf('scur');
  const m = new Map<string, number>();
  for (const l of lines.slice(1)) {
    const f = l.split(',');
    const name = f[sv];
    if (f[px] !== backend || name === 'BACKEND' || name === 'FRONTEND' || name === undefined) continue;
    m.set(name, Number(f[scur] ?? 0));
  }
  return m;
}

const okOrThrow = (api: string, cmd: string, reply: string, ok: RegExp = /^\s*$/): string => {
  if (!ok.test(reply)) throw new RuntimeApiError(`HAProxy ${api}: "${cmd}" failed: ${reply.trim()}`);
  return reply;
};

/** Adds a server at run time (checks on, in service). */
export async function addServer(api: string, backend: string, name: string, addr: string, keywords: string): Promise<void> {
  const add = `add server ${backend}/${name} ${addr} ${keywords}`;
  okOrThrow(api, add, await runtimeCommand(api, add), /New server registered/);
  okOrThrow(api, 'enable health', await runtimeCommand(api, `enable health ${backend}/${name}`));
  okOrThrow(api, 'enable server', await runtimeCommand(api, `set server ${backend}/${name} state ready`));
}

/** Back in service after a drain that was called off. */
export async function restoreServer(api: string, backend: string, name: string): Promise<void> {
  okOrThrow(api, 'set weight', await runtimeCommand(api, `set weight ${backend}/${name} 100`));
  okOrThrow(api, 'state ready', await runtimeCommand(api, `set server ${backend}/${name} state ready`));
}

/** HAProxy's answer when the server is not (any more) in the backend — e.g. another agent removed it. */
const noSuchServer = (reply: string): boolean => /No such server/i.test(reply);

/** Step 1 of a drain: no new connections (weight 0, state drain); existing ones keep working. False if the server is gone. */
export async function startDrain(api: string, backend: string, name: string): Promise<boolean> {
  const w = await runtimeCommand(api, `set weight ${backend}/${name} 0`);
  if (noSuchServer(w)) return false;
  okOrThrow(api, 'set weight', w);
  const d = await runtimeCommand(api, `set server ${backend}/${name} state drain`);
  if (noSuchServer(d)) return false;
  okOrThrow(api, 'state drain', d);
  return true;
}

/**
 * Last step: maintenance, then `del server` once no connection is attached. Returns false if sessions
 * remain; true once the server is gone (also when somebody else removed it first).
 */
export async function removeServer(api: string, backend: string, name: string): Promise<boolean> {
  const m = await runtimeCommand(api, `set server ${backend}/${name} state maint`);
  if (noSuchServer(m)) return true;
  okOrThrow(api, 'state maint', m);
  const r = await runtimeCommand(api, `del server ${backend}/${name}`);
  if (/Server deleted/i.test(r) || /No such server/i.test(r)) return true;
  if (/still has connections|has connections attached|queue/i.test(r)) return false;
  throw new RuntimeApiError(`HAProxy ${api}: "del server ${backend}/${name}" failed: ${r.trim()}`);
}

/**
 * The whole drain of one server: weight 0, wait (up to waitMs) for its sessions to end, then remove it
 * (retrying `del server` until `removeDeadlineMs` while the proxy closes its last connections).
 */
export async function drainAndRemove(
  api: string,
  backend: string,
  name: string,
  o: { waitMs: number; removeDeadlineMs: number; beforeRemove?: () => Promise<void> },
): Promise<{ waitedMs: number; removed: boolean }> {
  const t0 = Date.now();
  const present = await startDrain(api, backend, name);
  while (present && Date.now() - t0 < o.waitMs) {
    if (((await serverSessions(api, backend)).get(name) ?? 0) === 0) break; // also when it was removed meanwhile
    await new Promise((r) => setTimeout(r, 100));
  }
  const waitedMs = Date.now() - t0;
  if (o.beforeRemove) await o.beforeRemove();
  const deadline = Date.now() + o.removeDeadlineMs;
  for (;;) {
    if (await removeServer(api, backend, name)) return { waitedMs, removed: true };
    if (Date.now() > deadline) return { waitedMs, removed: false };
    await new Promise((r) => setTimeout(r, 100));
  }
}
