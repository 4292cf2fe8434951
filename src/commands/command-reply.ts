// Owns the proxy's answer to COMMAND and its subcommands (COUNT, LIST [FILTERBY], INFO, DOCS, GETKEYS,
// GETKEYSANDFLAGS, HELP), built from redis-7.0-commands.json in the exact reply shapes of Redis 7.0 for
// RESP2 and RESP3 (checked byte for byte against a live server by the unit tests).
//
// What is listed:
// - plain COMMAND, COMMAND COUNT, COMMAND LIST, COMMAND INFO / DOCS without names: only what the proxy
//   serves (commands it refuses outright are left out; a container is shown with its served
//   subcommands only, e.g. CLIENT with SETNAME/GETNAME/ID/INFO/LIST/SETINFO).
// - COMMAND INFO / COMMAND DOCS with names: any known command, refused ones included, exactly as
//   Redis describes it (so client libraries that inspect commands keep working); unknown names give
//   nil (INFO) or are omitted (DOCS), as in Redis.
// - COMMAND GETKEYS / GETKEYSANDFLAGS evaluate the key specs as the proxy does (keys.ts), without the
//   proxy's refusal checks, with Redis's error messages.
import { encode, errorReply, type RespValue } from '../resp/encode.js';
import { argEnd, argStart, keysAndFlags, type ArgsView, type CommandSpec, type DocValue, type KeySpecJson } from './keys.js';
import { COMMAND_HELP, checkArity, commandByName, isServed, lookupCommand, subcommandsOf, topLevelCommands } from './table.js';

const bulk = (v: string | Buffer): RespValue => ({ t: 'bulk', v });
const simple = (v: string): RespValue => ({ t: 'simple', v });
const int = (v: number): RespValue => ({ t: 'int', v });
const simpleSet = (v: readonly string[]): RespValue => ({ t: 'set', v: v.map(simple) });

/** JSON (docs or key spec) -> RESP, with the types Redis 7.0 uses for each field. */
function jsonToResp(key: string, v: DocValue | KeySpecJson | { [f: string]: string | number }): RespValue {
  if (key === 'flags' || key === 'doc_flags') return simpleSet(v as string[]);
  if (key === 'history') return { t: 'set', v: (v as string[][]).map((h) => ({ t: 'array', v: h.map(bulk) })) };
  if (typeof v === 'number') return int(v);
  if (typeof v === 'string') return bulk(v);
  if (Array.isArray(v)) return { t: 'array', v: (v as DocValue[]).map((e) => jsonToResp('', e)) };
  return { t: 'map', v: Object.entries(v).map(([k, x]) => [bulk(k), jsonToResp(k, x as DocValue)] as [RespValue, RespValue]) };
}

/** `subs`: the subcommands to include (all of them, or only the served ones). */
function infoValue(spec: CommandSpec, subs: CommandSpec[] | undefined): RespValue {
  const m = spec.meta;
  return {
    t: 'array',
    v: [
      bulk(spec.name),
      int(m.arity),
      simpleSet(m.flags),
      int(m.first),
      int(m.last),
      int(m.step),
      simpleSet(m.acl),
      { t: 'set', v: m.tips.map(bulk) },
      { t: 'set', v: m.key_specs.map((k) => jsonToResp('', k)) },
      // Redis 7.0: no subcommands is an empty *set*, otherwise an array.
      subs === undefined ? { t: 'set', v: [] } : { t: 'array', v: subs.map((s) => infoValue(s, undefined)) },
    ],
  };
}

function docsValue(spec: CommandSpec, subs: CommandSpec[] | undefined): RespValue {
  const pairs: Array<[RespValue, RespValue]> = Object.entries(spec.meta.docs).map(([k, v]) => [bulk(k), jsonToResp(k, v)]);
  if (subs !== undefined) pairs.push([bulk('subcommands'), { t: 'map', v: subs.map((s) => [bulk(s.name), docsValue(s, undefined)]) }]);
  return { t: 'map', v: pairs };
}

// Encoded entries are cached: COMMAND output never changes at run time.
const cache = new Map<string, Buffer>();
function cached(key: string, make: () => RespValue, proto: 2 | 3): Buffer {
  const k = `${proto}:${key}`;
  let b = cache.get(k);
  if (b === undefined) {
    b = encode(make(), proto);
    cache.set(k, b);
  }
  return b;
}
const raw = (v: Buffer): RespValue => ({ t: 'raw', v });

function allSubs(spec: CommandSpec): CommandSpec[] | undefined {
  return spec.isContainer ? subcommandsOf(spec) : undefined;
}
function servedSubs(spec: CommandSpec): CommandSpec[] | undefined {
  return spec.isContainer ? subcommandsOf(spec).filter((s) => s.policy.kind !== 'denied') : undefined;
}

const infoFull = (s: CommandSpec, proto: 2 | 3): Buffer => cached(`info:${s.name}`, () => infoValue(s, allSubs(s)), proto);
const infoServed = (s: CommandSpec, proto: 2 | 3): Buffer => cached(`info-served:${s.name}`, () => infoValue(s, servedSubs(s)), proto);
const docsFull = (s: CommandSpec, proto: 2 | 3): Buffer => cached(`docs:${s.name}`, () => docsValue(s, allSubs(s)), proto);
const docsServed = (s: CommandSpec, proto: 2 | 3): Buffer => cached(`docs-served:${s.name}`, () => docsValue(s, servedSubs(s)), proto);

function served(): CommandSpec[] {
  return topLevelCommands().filter(isServed);
}

function arg(a: ArgsView, i: number): string {
  return a.buf.toString('utf8', argStart(a, i), argEnd(a, i)); // i < argc: always set
}

/** Redis's stringmatchlen (glob: * ? [...] with ranges and ^, backslash escapes), case-insensitive. */
export function globMatch(pattern: string, text: string, nocase = true): boolean {
  const p = nocase ? pattern.toLowerCase() : pattern;
  const s = nocase ? text.toLowerCase() : text;
  const rec = (pi: number, si: number): boolean => {
    while (pi < p.length) {
      const c = p.charAt(pi);
      if (c === '*') {
        while (p[pi + 1] === '*') pi++;
        if (pi + 1 === p.length) return true;
        for (let k = si; k <= s.length; k++) if (rec(pi + 1, k)) return true;
        return false;
      }
      if (si >= s.length) return false;
      if (c === '?') {
        pi++;
        si++;
        continue;
      }
      if (c === '[') {
        let q = pi + 1;
        const not = p[q] === '^';
        if (not) q++;
        let match = false;
        for (;;) {
          if (q >= p.length) {
            q--;
            break;
          }
          if (p[q] === '\\' && q + 1 < p.length) {
            q++;
            if (p[q] === s[si]) match = true;
          } else if (p[q] === ']') break;
          else if (q + 2 < p.length && p[q + 1] === '-') {
            let lo = p.charAt(q);
            let hi = p.charAt(q + 2);
            if (lo > hi) [lo, hi] = [hi, lo];
            q += 2;
            const ch = s.charAt(si);
            if (ch >= lo && ch <= hi) match = true;
          } else if (p[q] === s[si]) match = true;
          q++;
        }
        if (not) match = !match;
        if (!match) return false;
        pi = q + 1;
        si++;
        continue;
      }
      if (c === '\\' && pi + 1 < p.length) pi++;
      if (p[pi] !== s[si]) return false;
      pi++;
      si++;
    }
    return si === s.length;
  };
  return rec(0, 0);
}

function listNames(filter: ((s: CommandSpec) => boolean) | undefined): RespValue {
  const out: RespValue[] = [];
  for (const spec of served()) {
    if (!filter || filter(spec)) out.push(bulk(spec.name));
    for (const sub of servedSubs(spec) ?? []) if (!filter || filter(sub)) out.push(bulk(sub.name));
  }
  return { t: 'array', v: out };
}

function getKeys(a: ArgsView, withFlags: boolean, proto: 2 | 3): Buffer {
  const sub: ArgsView = {
    buf: a.buf,
    offs: a.offs,
    base: a.base + 4,
    argc: a.argc - 2,
  };
  const spec = lookupCommand(sub);
  if (spec === undefined || (spec.isContainer && sub.argc >= 2)) return errorReply('ERR Invalid command specified');
  if (!spec.hasKeys && !spec.incompleteKeys) return errorReply('ERR The command has no key arguments');
  if (!checkArity(spec, sub.argc)) return errorReply('ERR Invalid number of arguments specified for command');
  const r = keysAndFlags(spec, sub);
  if (typeof r === 'string' || r.keys.length === 0) {
    if (spec.noMandatoryKeys) return encode({ t: 'array', v: [] }, proto);
    return errorReply('ERR Invalid arguments specified for command');
  }
  const keyArg = (i: number): RespValue => bulk(sub.buf.subarray(argStart(sub, i), argEnd(sub, i)));
  return encode(
    {
      t: 'array',
      v: r.keys.map((k, j) => (withFlags ? { t: 'array', v: [keyArg(k), simpleSet(r.flags[j] ?? [])] } : keyArg(k))),
    },
    proto,
  );
}

/**
 * The reply to a COMMAND request (argument 0 is COMMAND), encoded for RESP `proto`. Errors are
 * returned as error replies (a Buffer starting with '-'), never thrown.
 */
export function commandReply(args: ArgsView, proto: 2 | 3): Buffer {
  if (args.argc < 2) {
    return encode({ t: 'array', v: served().map((s) => raw(infoServed(s, proto))) }, proto);
  }
  const spec = lookupCommand(args);
  if (spec === undefined || spec.isContainer)
    return errorReply(`ERR unknown subcommand '${arg(args, 1).slice(0, 128)}'. Try COMMAND HELP.`);
  if (!checkArity(spec, args.argc)) return errorReply(spec.arityError);
  switch (spec.name) {
    case 'command|count':
      return encode(int(served().length), proto);
    case 'command|help':
      return encode({ t: 'array', v: COMMAND_HELP.map(simple) }, proto);
    case 'command|list': {
      if (args.argc === 2) return encode(listNames(undefined), proto);
      if (args.argc !== 5 || arg(args, 2).toLowerCase() !== 'filterby') return errorReply('ERR syntax error');
      const kind = arg(args, 3).toLowerCase();
      const val = arg(args, 4);
      if (kind === 'module') return encode({ t: 'array', v: [] }, proto); // no modules behind the proxy
      if (kind === 'aclcat') {
        const cat = `@${val.toLowerCase()}`;
        return encode(
          listNames((s) => s.meta.acl.includes(cat)),
          proto,
        );
      }
      if (kind === 'pattern')
        return encode(
          listNames((s) => globMatch(val, s.name)),
          proto,
        );
      return errorReply('ERR syntax error');
    }
    case 'command|info': {
      if (args.argc === 2) return encode({ t: 'array', v: served().map((s) => raw(infoServed(s, proto))) }, proto);
      const out: RespValue[] = [];
      for (let i = 2; i < args.argc; i++) {
        const s = commandByName(arg(args, i));
        out.push(s ? raw(infoFull(s, proto)) : { t: 'null' });
      }
      return encode({ t: 'array', v: out }, proto);
    }
    case 'command|docs': {
      if (args.argc === 2) return encode({ t: 'map', v: served().map((s) => [bulk(s.name), raw(docsServed(s, proto))]) }, proto);
      const out: Array<[RespValue, RespValue]> = [];
      for (let i = 2; i < args.argc; i++) {
        const s = commandByName(arg(args, i));
        if (s) out.push([bulk(s.name), raw(docsFull(s, proto))]);
      }
      return encode({ t: 'map', v: out }, proto);
    }
    case 'command|getkeys':
      return getKeys(args, false, proto);
    case 'command|getkeysandflags':
      return getKeys(args, true, proto);
    default:
      return errorReply(`ERR unknown subcommand '${arg(args, 1).slice(0, 128)}'. Try COMMAND HELP.`);
  }
}
