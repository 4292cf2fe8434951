// Turns an option table into commander flags, and the parsed flags back into option overrides.
import type { Command } from 'commander';
import { flagName, type OptionSpec } from '../util/options.js';

/** What commander hands an action for one option: its string value, a bare flag, or a repeated option. */
export type CliValue = string | boolean | string[] | undefined;

const camel = (key: string): string => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

export function addOptionFlags(cmd: Command, specs: OptionSpec[]): Command {
  for (const s of specs)
    cmd.option(`${flagName(s.key)} <${s.type === 'bool' ? 'true|false' : s.type}>`, `${s.doc} [${JSON.stringify(s.default)}]`);
  return cmd;
}

export function flagOverrides(specs: OptionSpec[], opts: Record<string, CliValue>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const s of specs) {
    const v = opts[camel(s.key)];
    if (v !== undefined) out[s.key] = Array.isArray(v) ? v.join(',') : String(v);
  }
  return out;
}
