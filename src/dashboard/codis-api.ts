// What the dashboard API does differently for Codis 3.2's own tools (the unchanged codis-admin and
// codis-fe), so they work against Shardis (README "Coming from Codis"):
// - who is a Codis client: a request with Codis's product-only token in the path, a request through
//   codis-fe's reverse proxy (`?forward=<product>`), or Go's HTTP client (codis-admin);
// - their errors: HTTP status 800 with Codis's RemoteError JSON `{"Cause": text, "Stack": []}`,
//   which codis-admin prints and codis-fe shows (Shardis's own clients get 4xx/5xx `{"error"}`);
// - their replies to mutations: the JSON string "OK" (the rebalance plan: a flat {"<slot>": gid});
// - their stats: the same object, with error texts as RemoteError objects (Codis's Go types decode
//   `error` as a struct) and each sentinel's INFO fields codis-fe counts masters from.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { codisDashboardXAuth, tokensEqual } from '../models/auth.js';

/** HTTP status of every Codis API error (rpc.ApiResponseError). */
export const CODIS_ERROR_STATUS = 800;

export interface RemoteError {
  Cause: string;
  Stack: never[];
}

export const remoteError = (cause: string): RemoteError => ({ Cause: cause, Stack: [] });

type AnyReq = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string> }>;

/** True when the request comes from Codis's codis-admin or codis-fe (see the header). */
export function isCodisClient(req: FastifyRequest, product: string): boolean {
  const r = req as AnyReq;
  if (r.query && typeof r.query === 'object' && 'forward' in r.query) return true;
  const ua = req.headers['user-agent'];
  if (typeof ua === 'string' && ua.startsWith('Go-http-client/')) return true;
  const token = r.params?.token;
  return typeof token === 'string' && tokensEqual(token, codisDashboardXAuth(product));
}

/** Sends a Codis RemoteError with status 800 (Fastify refuses codes above 599: written on the raw response). */
export function sendCodisError(reply: FastifyReply, message: string): void {
  const body = JSON.stringify(remoteError(message), null, 4);
  reply.hijack();
  reply.raw.writeHead(CODIS_ERROR_STATUS, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  reply.raw.end(body);
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A copy of `entry` whose `error` text is a RemoteError. */
function withRemoteError(entry: unknown): unknown {
  if (!isObj(entry) || typeof entry.error !== 'string') return entry;
  return { ...entry, error: remoteError(entry.error) };
}

function mapValues(o: unknown, fn: (v: unknown) => unknown): unknown {
  if (!isObj(o)) return o;
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fn(v)]));
}

interface SentinelMasterView {
  addr?: string;
  flags?: string;
  num_slaves?: number;
}

/** Codis's per-sentinel RedisStats: `stats` with INFO's sentinel_masters / masterN lines, `error` as RemoteError. */
function sentinelEntry(entry: unknown, sentinels: number): unknown {
  if (!isObj(entry)) return entry;
  if (typeof entry.error === 'string') return { error: remoteError(entry.error), unixtime: Math.floor(Date.now() / 1000) };
  const masters = isObj(entry.masters) ? Object.entries(entry.masters) : [];
  const stats: Record<string, string> = { sentinel_masters: String(masters.length) };
  masters.forEach(([name, raw], i) => {
    const m = (isObj(raw) ? raw : {}) as SentinelMasterView;
    const status = /o_down|s_down/.test(m.flags ?? '') ? 'odown' : 'ok';
    stats[`master${i}`] = `name=${name},status=${status},address=${m.addr ?? ''},slaves=${m.num_slaves ?? 0},sentinels=${sentinels}`;
  });
  return { ...entry, stats, unixtime: Math.floor(Date.now() / 1000) };
}

/** The dashboard stats as Codis's topom.Stats decodes them (see the header). */
export function codisStatsView(stats: Json): Json {
  const out: Json = { ...stats };
  if (isObj(stats.group)) out.group = { ...stats.group, stats: mapValues(stats.group.stats, withRemoteError) };
  if (isObj(stats.proxy)) out.proxy = { ...stats.proxy, stats: mapValues(stats.proxy.stats, withRemoteError) };
  if (isObj(stats.sentinels)) {
    const ha = stats.sentinels;
    const servers = isObj(ha.model) && Array.isArray(ha.model.servers) ? ha.model.servers.length : 0;
    out.sentinels = { ...ha, stats: mapValues(ha.stats, (e) => sentinelEntry(e, servers)) };
  }
  return out;
}

/** The overview (`/topom`) with its stats in the Codis view. */
export function codisOverviewView(o: Json): Json {
  return isObj(o.stats) ? { ...o, stats: codisStatsView(o.stats) } : o;
}
