/**
 * ARG and ENV scoping, as BuildKit does it:
 * - global ARGs (before the first FROM) are visible to FROM lines only, plus the predefined
 *   platform args; a stage sees a global ARG only after redeclaring it (`ARG NAME`);
 * - a build-arg overrides an ARG's default, and the default is then never evaluated;
 * - `ARG NAME` with no value and no build-arg is declared but unset (absent from RUN's env);
 * - ENV values win over ARG values of the same name in expansion and in RUN's environment.
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

  /** Declared args that have a value, in declaration order. */
  entries(): Array<[string, string]> {
    return [...this.values].filter((e): e is [string, string] => e[1] !== undefined);
  }
}

/** Expansion lookup for a stage: ENV first, then declared ARGs. */
export function stageLookup(env: readonly string[], args: ArgScope): Lookup {
  const envMap = new Map(env.map(splitEnv));
  return (name) => (envMap.has(name) ? envMap.get(name) : args.get(name));
}

/** RUN's environment: ENV entries, then ARGs that have a value and no ENV of the same name. */
export function runEnvironment(env: readonly string[], args: ArgScope): string[] {
  const names = new Set(env.map((e) => splitEnv(e)[0]));
  return [...env, ...args.entries().filter(([k]) => !names.has(k)).map(([k, v]) => `${k}=${v}`)];
}
