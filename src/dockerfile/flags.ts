/**
 * Instruction flags (`--from=build`, `--link`, `--mount=…`), checked against what each instruction
 * accepts, with BuildKit's messages: unknown flags get a suggestion, booleans must be true/false,
 * a flag given twice is an error unless it may repeat.
 */
import type { Fail } from './node.js';
import { didYouMean } from './suggest.js';

/** How a flag takes its value. */
export type FlagKind = 'string' | 'bool' | 'list';

/** The flags an instruction accepts. */
export type FlagSpec = Readonly<Record<string, FlagKind>>;

/** Parsed flag values: strings, booleans, or lists for repeatable flags. */
export interface FlagValues {
  string(name: string): string | undefined;
  bool(name: string): boolean | undefined;
  list(name: string): string[];
}

/** Parses `raw` flag words (`--name=value`, `--name`) of `keyword` against `spec`. */
export function parseFlags(keyword: string, raw: readonly string[], spec: FlagSpec, fail: Fail): FlagValues {
  const strings = new Map<string, string>();
  const bools = new Map<string, boolean>();
  const lists = new Map<string, string[]>();
  for (const word of raw) {
    if (!word.startsWith('--')) fail(`${keyword} flag "${word}" must start with --`, word);
    const eq = word.indexOf('=');
    const name = eq < 0 ? word.slice(2) : word.slice(2, eq);
    const value = eq < 0 ? undefined : word.slice(eq + 1);
    const kind = spec[name];
    if (kind === undefined) fail(`unknown flag: --${name}${didYouMean(name, Object.keys(spec))}`, `--${name}`);
    if (kind !== 'list' && (strings.has(name) || bools.has(name))) fail(`Duplicate flag specified: --${name}`, `--${name}`);
    if (kind === 'bool') {
      const text = (value ?? 'true').toLowerCase();
      if (text !== 'true' && text !== 'false') fail(`expecting boolean value for flag ${name}, not: ${value}`, word);
      bools.set(name, text === 'true');
      continue;
    }
    if (value === undefined) fail(`missing a value on flag: --${name}`, word);
    if (kind === 'list') lists.set(name, [...(lists.get(name) ?? []), value]);
    else strings.set(name, value);
  }
  return {
    string: (name) => strings.get(name),
    bool: (name) => bools.get(name),
    list: (name) => lists.get(name) ?? [],
  };
}
