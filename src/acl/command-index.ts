// The command universe ACL rules are written against: every Redis 7.0 command and subcommand of the
// shipped metadata, each with a numeric id (its bit in a selector's command bitmap) and its ACL
// categories as a bit mask. Built once from src/commands' table; pure, no I/O.
import { topLevelCommands, subcommandsOf, type CommandSpec } from '../commands/table.js';

/** Redis's ACL categories, in Redis's order (ACL CAT lists them, ACL LIST's rule search walks them in it). */
export const ACL_CATEGORIES = [
  'keyspace',
  'read',
  'write',
  'set',
  'sortedset',
  'list',
  'hash',
  'string',
  'bitmap',
  'hyperloglog',
  'geo',
  'stream',
  'pubsub',
  'admin',
  'fast',
  'slow',
  'blocking',
  'dangerous',
  'connection',
  'transaction',
  'scripting',
] as const;

export interface AclCommand {
  id: number;
  /** 'get', 'config|get' */
  fullName: string;
  spec: CommandSpec;
  /** Bit j set: in category ACL_CATEGORIES[j]. */
  categories: number;
  parent: AclCommand | undefined;
  subs: AclCommand[];
}

export interface CommandIndex {
  /** Top-level commands in table order (subcommands hang off them). */
  top: AclCommand[];
  /** Every command and subcommand, by id. */
  byId: AclCommand[];
  /** By full lower-case name. */
  byName: Map<string, AclCommand>;
  /** One more than the largest id: the "future commands" bit (set by +@all only). */
  futureBit: number;
}

function categoryMask(spec: CommandSpec): number {
  let m = 0;
  for (const c of spec.meta.acl) {
    const j = ACL_CATEGORIES.indexOf(c.replace(/^@/, '') as (typeof ACL_CATEGORIES)[number]);
    if (j >= 0) m |= 1 << j;
  }
  return m;
}

let built: CommandIndex | undefined;

/** The index (built on first use). Proxy-only commands (SLOTSMAPPING, ...) are not ACL commands. */
export function commandIndex(): CommandIndex {
  if (built) return built;
  const byId: AclCommand[] = [];
  const byName = new Map<string, AclCommand>();
  const add = (spec: CommandSpec, parent: AclCommand | undefined): AclCommand => {
    const c: AclCommand = { id: byId.length, fullName: spec.name, spec, categories: categoryMask(spec), parent, subs: [] };
    byId.push(c);
    byName.set(spec.name, c);
    return c;
  };
  const top: AclCommand[] = [];
  for (const spec of topLevelCommands()) {
    if (spec.proxyExtra) continue;
    const c = add(spec, undefined);
    top.push(c);
    for (const sub of subcommandsOf(spec)) if (!sub.proxyExtra) c.subs.push(add(sub, c));
  }
  built = { top, byId, byName, futureBit: byId.length };
  return built;
}

/** The ACL command for a resolved request spec (undefined for proxy-only commands). */
export function aclCommandOf(spec: CommandSpec): AclCommand | undefined {
  return commandIndex().byName.get(spec.name);
}

/** Looks a rule's command name up ('get', 'config|get'), case-insensitive, as ACL SETUSER does. */
export function lookupAclCommand(name: string): AclCommand | undefined {
  return commandIndex().byName.get(name.toLowerCase());
}
