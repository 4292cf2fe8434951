// Declarative option tables shared by every Shardis process: each option has a TOML key, a type, a
// default and a doc line. From one table we read TOML files, apply `--flag value` overrides, print a
// documented default config, and render the README's option list.
import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';

export type OptionType = 'string' | 'int' | 'bool' | 'size' | 'duration' | 'string[]';

export interface OptionSpec {
  key: string;
  type: OptionType;
  default: string | number | boolean | string[];
  doc: string;
  /** Other TOML keys accepted for this option (e.g. Codis's names). */
  aliases?: string[];
}

export type OptionValues = Record<string, string | number | boolean | string[]>;

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, k: 1024, mb: 1024 ** 2, m: 1024 ** 2, gb: 1024 ** 3, g: 1024 ** 3 };
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "128kb" → 131072; plain numbers are bytes. */
export function parseSize(v: string | number): number {
  if (typeof v === 'number') return v;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(v);
  const unit = m ? (m[2] ?? '').toLowerCase() || 'b' : '';
  const mult = SIZE_UNITS[unit];
  if (!m || mult === undefined) throw new Error(`"${v}" is not a size (examples: 512, 64kb, 512mb, 1gb)`);
  return Math.round(Number(m[1]) * mult);
}

/** "30s" → 30000 ms; plain numbers are milliseconds; "1m30s" works. */
export function parseDuration(v: string | number): number {
  if (typeof v === 'number') return v;
  if (/^\s*\d+\s*$/.test(v)) return Number(v);
  let total = 0,
    rest = v.trim();
  const re = /^(\d+(?:\.\d+)?)(ms|s|m|h)/;
  if (!rest) throw new Error('empty duration');
  while (rest) {
    const m = re.exec(rest);
    const mult = m ? DURATION_UNITS[m[2] ?? ''] : undefined;
    if (!m || mult === undefined) throw new Error(`"${v}" is not a duration (examples: 500ms, 30s, 5m)`);
    total += Number(m[1]) * mult;
    rest = rest.slice(m[0].length);
  }
  return Math.round(total);
}

function coerce(spec: OptionSpec, raw: unknown, where: string): string | number | boolean | string[] {
  const fail = (why: string): never => {
    throw new Error(`${where}: option ${spec.key}: ${why}`);
  };
  try {
    switch (spec.type) {
      case 'string':
        if (typeof raw !== 'string') fail('expected a string');
        return raw as string;
      case 'int': {
        const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : NaN;
        if (!Number.isInteger(n)) fail(`expected an integer, got ${JSON.stringify(raw)}`);
        return n;
      }
      case 'bool':
        if (typeof raw === 'boolean') return raw;
        if (raw === 'true' || raw === '1' || raw === 'yes') return true;
        if (raw === 'false' || raw === '0' || raw === 'no') return false;
        return fail(`expected true or false, got ${JSON.stringify(raw)}`);
      case 'size':
        if (typeof raw !== 'string' && typeof raw !== 'number') fail('expected a size');
        return parseSize(raw as string | number);
      case 'duration':
        if (typeof raw !== 'string' && typeof raw !== 'number') fail('expected a duration');
        return parseDuration(raw as string | number);
      case 'string[]':
        if (Array.isArray(raw)) return raw.map(String);
        if (typeof raw === 'string')
          return raw
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean);
        return fail('expected a list of strings');
    }
  } catch (e) {
    if ((e as Error).message.startsWith(where)) throw e;
    return fail((e as Error).message);
  }
}

export function defaults(specs: OptionSpec[]): OptionValues {
  const out: OptionValues = {};
  for (const s of specs) out[s.key] = coerce(s, s.default, 'defaults');
  return out;
}

/**
 * Reads a TOML file over the defaults. Unknown keys are an error (typos should not pass silently),
 * except `ignored` ones — keys of the system we replace that have no meaning here — which are
 * reported through `warn`.
 */
export function loadToml(
  specs: OptionSpec[],
  file: string,
  base: OptionValues = defaults(specs),
  ignored: readonly string[] = [],
  warn: (msg: string) => void = () => {},
): OptionValues {
  const doc = parseToml(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const out = { ...base };
  const skip = new Set(ignored);
  const byKey = new Map<string, OptionSpec>();
  for (const s of specs) {
    byKey.set(s.key, s);
    for (const a of s.aliases ?? []) byKey.set(a, s);
  }
  for (const [k, v] of Object.entries(doc)) {
    const spec = byKey.get(k);
    if (!spec && (skip.has(k) || [...skip].some((x) => x.endsWith('*') && k.startsWith(x.slice(0, -1))))) {
      warn(`${file}: option "${k}" has no effect in Shardis; ignored`);
      continue;
    }
    if (!spec) throw new Error(`${file}: unknown option "${k}"`);
    out[spec.key] = coerce(spec, v, file);
  }
  return out;
}

/** `--proxy-addr` ⇄ `proxy_addr`. */
export const flagName = (key: string): string => '--' + key.replace(/_/g, '-');

/** Applies overrides given as flags (already parsed into key → string). */
export function applyFlags(specs: OptionSpec[], values: OptionValues, flags: Record<string, string | boolean | undefined>): OptionValues {
  const out = { ...values };
  for (const s of specs) {
    const v = flags[s.key];
    if (v !== undefined) out[s.key] = coerce(s, v, `flag ${flagName(s.key)}`);
  }
  return out;
}

function tomlValue(s: OptionSpec): string {
  const d = s.default;
  if (Array.isArray(d)) return `[${d.map((x) => JSON.stringify(x)).join(', ')}]`;
  if (typeof d === 'string') return JSON.stringify(d);
  return String(d);
}

/** A commented TOML file holding every option at its default. */
export function renderDefaultToml(title: string, specs: OptionSpec[]): string {
  const lines = [`# ${title}`, '# Every option, at its default. Every option is also a command-line flag (--key-name value).', ''];
  for (const s of specs) {
    lines.push(`# ${s.doc}${s.aliases?.length ? ` (also accepted as: ${s.aliases.join(', ')})` : ''}`);
    lines.push(`${s.key} = ${tomlValue(s)}`, '');
  }
  return lines.join('\n');
}

/** Markdown table of the options, for the README. */
export function renderMarkdown(specs: OptionSpec[]): string {
  const rows = specs.map((s) => `| \`${s.key}\` / \`${flagName(s.key)}\` | \`${tomlValue(s)}\` | ${s.doc} |`);
  return ['| option / flag | default | meaning |', '|---|---|---|', ...rows].join('\n');
}
