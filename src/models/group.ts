// A server group (Codis 3.2 models.Group / models.GroupServer), stored at
// /codis3/<product>/group/group-NNNN. servers[0] is the master by definition; the rest are replicas.
export const MIN_GROUP_ID = 1;
export const MAX_GROUP_ID = 9999;

export interface ServerAction {
  index?: number;
  state?: string;
}

export interface GroupServer {
  /** host:port */
  server: string;
  datacenter: string;
  action: ServerAction;
  replica_group: boolean;
}

export interface GroupPromoting {
  index?: number;
  state?: string;
}

export interface Group {
  id: number;
  servers: GroupServer[];
  promoting: GroupPromoting;
  out_of_sync: boolean;
}

export function isValidGroupId(id: unknown): id is number {
  return typeof id === 'number' && Number.isInteger(id) && id >= MIN_GROUP_ID && id <= MAX_GROUP_ID;
}

export const newGroup = (id: number): Group => ({ id, servers: [], promoting: {}, out_of_sync: false });

export const newGroupServer = (server: string, datacenter = ''): GroupServer => ({ server, datacenter, action: {}, replica_group: false });

/** The master's address, or '' for an empty group. */
export const groupMaster = (g: Group | undefined): string => g?.servers[0]?.server ?? '';

/** True while a promotion (manual failover) is in progress. */
export const isPromoting = (g: Group): boolean => (g.promoting.state ?? '') !== '';

function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function action(v: unknown): { index?: number; state?: string } {
  const a = obj(v);
  const out: { index?: number; state?: string } = {};
  if (typeof a.index === 'number' && a.index) out.index = a.index;
  if (typeof a.state === 'string' && a.state) out.state = a.state;
  return out;
}

/** Reads a stored group (ours or Codis's). Throws naming the problem when it is unusable. */
export function parseGroup(input: unknown, where = 'group'): Group {
  const o = obj(input);
  if (!isValidGroupId(o.id)) throw new Error(`${where}: id must be an integer in [${MIN_GROUP_ID}, ${MAX_GROUP_ID}]`);
  const servers = Array.isArray(o.servers) ? o.servers : [];
  return {
    id: o.id,
    servers: servers.map((raw, i) => {
      const s = obj(raw);
      if (typeof s.server !== 'string' || !s.server) throw new Error(`${where}: servers[${i}].server must be host:port`);
      return {
        server: s.server,
        datacenter: typeof s.datacenter === 'string' ? s.datacenter : '',
        action: action(s.action),
        replica_group: s.replica_group === true,
      };
    }),
    promoting: action(o.promoting),
    out_of_sync: o.out_of_sync === true,
  };
}

/** The JSON Codis writes. */
export function encodeGroup(g: Group): Record<string, unknown> {
  return {
    id: g.id,
    servers: g.servers.map((s) => ({
      server: s.server,
      datacenter: s.datacenter,
      action: { ...s.action },
      replica_group: s.replica_group,
    })),
    promoting: { ...g.promoting },
    out_of_sync: g.out_of_sync,
  };
}
