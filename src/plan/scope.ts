/**
 * ARG and ENV scoping, as BuildKit does it:
 * - global ARGs (before the first FROM) are visible to FROM lines only, plus the predefined
 *   platform args; a stage sees a global ARG only after redeclaring it (`ARG NAME`);
 * - a build-arg overrides an ARG's default, and the default is then never evaluated;
 * - `ARG NAME` with no value and no build-arg is declared but unset (absent from RUN's env);
 * - ENV values win over ARG values of the same name in expansion and in RUN's environment;
 * - a stage built FROM another stage inherits that stage's ARGs for expansion, RUN's environment
 *   and RUN's history prefix (BuildKit carries the parent's build args into the child's dispatch
 *   state; checked against Docker Engine 28.5's BuildKit).
 */
import type { Lookup } from '../dockerfile/expand.js';

/** Proxy args: honoured from build-args without an ARG, kept out of cache keys. */
export const PROXY_ARGS = ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY'] as const;

/** True for a proxy arg name in any letter case. */
export function isProxyArg(name: string): boolean {
  return (PROXY_ARGS as readonly string[]).includes(name.toUpperCase());
}

/** Splits `KEY=value` (an `Env` entry). */
export function splitEnv(entry: string): [string, string] {
  const eq = entry.indexOf('=');
  return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
}

/** The ARGs declared in one scope (a stage, or the global scope), in declaration order. */
export class ArgScope {
  private readonly values = new Map<string, string | undefined>();

  /** Declares `name`; `value` undefined means declared but unset. Redeclaring keeps the first position. */
  declare(name: string, value: string | undefined): void {
    this.values.set(name, value);
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  get(name: string): string | undefined {
    return this.values.get(name);
  }

  /** Every declared name, in declaration order. */
  names(): string[] {
    return [...this.values.keys()];
  }

  /** Declared args that have a value, in declaration order. */
  entries(): Array<[string, string]> {
    return [...this.values].filter((e): e is [string, string] => e[1] !== undefined);
  }
}

/** ARGs a stage inherits from the stage it is built FROM, in declaration order (undefined: declared, unset). */
export type InheritedArgs = ReadonlyMap<string, string | undefined>;

const NONE: InheritedArgs = new Map();

/** Expansion lookup for a stage: ENV first, then declared ARGs, then inherited ARG values. */
export function stageLookup(env: readonly string[], args: ArgScope, inherited: InheritedArgs = NONE): Lookup {
  const envMap = new Map(env.map(splitEnv));
  return (name) => (envMap.has(name) ? envMap.get(name) : (args.get(name) ?? inherited.get(name)));
}

/** RUN's environment: ENV entries, then ARGs with a value, then inherited ARG values, each name once. */
export function runEnvironment(env: readonly string[], args: ArgScope, inherited: InheritedArgs = NONE): string[] {
  const names = new Set(env.map((e) => splitEnv(e)[0]));
  const own = args.entries().filter(([k]) => !names.has(k));
  for (const [k] of own) names.add(k);
  const passed = [...inherited].filter((e): e is [string, string] => e[1] !== undefined && !names.has(e[0]));
  return [...env, ...[...own, ...passed].map(([k, v]) => `${k}=${v}`)];
}

/** The ARGs a child stage inherits: the parent's inherited ones, overridden by its own. */
export function argsForChild(args: ArgScope, inherited: InheritedArgs = NONE): InheritedArgs {
  return new Map([...inherited, ...args.names().map((k): [string, string | undefined] => [k, args.get(k)])]);
}

/**
 * The `|n k=v …` prefix of RUN's history text, as BuildKit's runCommandString writes it: every ARG
 * the stage has (inherited ones first, each name once at its first position), valued from RUN's
 * environment (so an ENV of the same name wins), else its own value, else empty (`UNSET=`).
 */
export function historyArgs(runEnv: readonly string[], args: ArgScope, inherited: InheritedArgs = NONE): string {
  const env = new Map(runEnv.map(splitEnv));
  const names = [...new Set([...inherited.keys(), ...args.names()])];
  if (names.length === 0) return '';
  const value = (k: string): string => env.get(k) ?? (args.has(k) ? args.get(k) : inherited.get(k)) ?? '';
  return `|${names.length} ${names.map((k) => `${k}=${value(k)}`).join(' ')} `;
}
