/**
 * The global scope and the FROM lines, as BuildKit evaluates them before any stage runs: the
 * predefined platform args, the global ARGs (once with their defaults only, once with the
 * build-args), then each FROM's image and `--platform`. Checks: InvalidDefaultArgInFrom,
 * UndefinedArgInFrom, RedundantTargetPlatform and FromPlatformFlagConstDisallowed.
 */
import { DockerfileError, locate } from '../dockerfile/errors.js';
import type { ArgInstruction, FromInstruction } from '../dockerfile/instructions.js';
import type { Dockerfile } from '../dockerfile/parse.js';
import { searchSuggestion } from '../dockerfile/suggest.js';
import { parsePlatform, platformArgs, type Platform } from '../image/platform.js';
import { parseReference } from '../registry/reference.js';
import { EnvList } from './env-list.js';
import { expandTracked, type TrackedExpansion } from './expansion.js';
import type { Linter } from './linter.js';
import { locationOf } from './parse-checks.js';
import { FromPlatformFlagConstDisallowed, InvalidDefaultArgInFrom, RedundantTargetPlatform, UndefinedArgInFrom } from './rules.js';

/** A global ARG as the build sees it (outline reports these). */
export interface GlobalArg {
  key: string;
  /** Its value: the build-arg, else the expanded default; undefined when it has neither. */
  value: string | undefined;
  description?: string;
  line: number;
  /** Other global ARGs its default reads (they count as used when it is). */
  deps: string[];
}

/** The global scope after the build-args are applied. */
export interface GlobalScope {
  /** Predefined args and global ARGs with a value, in BuildKit's order. */
  env: EnvList;
  /** Every global ARG by name (the last declaration wins). */
  args: Map<string, GlobalArg>;
}

/** What the FROM line of a stage resolves to. */
export interface StageHead {
  /** The image or stage name after expansion. */
  base: string;
  /** The `--platform`, when given. */
  platform?: Platform;
  /** Global ARGs the FROM line read. */
  used: string[];
}

/** The inputs the global scope depends on. */
export interface ScopeOptions {
  buildPlatform: Platform;
  targetPlatform: Platform;
  buildArgs: Readonly<Record<string, string>>;
  /** The stage being built (`--target`), for TARGETSTAGE. */
  target?: string;
}

const has = (record: Readonly<Record<string, string>>, key: string): boolean => Object.prototype.hasOwnProperty.call(record, key);

/** The predefined args, in BuildKit's order, each overridable by a build-arg. */
function predefinedArgs(df: Dockerfile, options: ScopeOptions): EnvList {
  const platform = platformArgs(options.buildPlatform, options.targetPlatform);
  const target = options.target ?? df.stages[df.stages.length - 1]?.from.stageName ?? '';
  const values: Array<[string, string]> = [
    ['BUILDPLATFORM', platform.BUILDPLATFORM ?? ''],
    ['BUILDOS', platform.BUILDOS ?? ''],
    ['BUILDOSVERSION', ''],
    ['BUILDARCH', platform.BUILDARCH ?? ''],
    ['BUILDVARIANT', platform.BUILDVARIANT ?? ''],
    ['TARGETPLATFORM', platform.TARGETPLATFORM ?? ''],
    ['TARGETOS', platform.TARGETOS ?? ''],
    ['TARGETOSVERSION', ''],
    ['TARGETARCH', platform.TARGETARCH ?? ''],
    ['TARGETVARIANT', platform.TARGETVARIANT ?? ''],
    ['TARGETSTAGE', target === '' ? 'default' : target],
  ];
  return new EnvList(values.map(([k, v]) => [k, has(options.buildArgs, k) ? (options.buildArgs[k] ?? '') : v]));
}

/** Stops the walk with a located error (BuildKit stops at its first error too). */
function failAt(df: Dockerfile, ins: FromInstruction | ArgInstruction, message: string, needle?: string): never {
  throw new DockerfileError(message, locate(df.file, df.lines, ins.range, needle));
}

function expandOrFail(df: Dockerfile, ins: FromInstruction | ArgInstruction, word: string, env: EnvList): TrackedExpansion {
  const expanded = expandTracked(word, env.lookup(), df.directives.escape);
  if (expanded.error) failAt(df, ins, expanded.error.message, word);
  return expanded;
}

/** The global ARGs in order, with `buildArgs` applied (none: defaults only). */
function globalArgs(df: Dockerfile, predefined: EnvList, buildArgs: Readonly<Record<string, string>> | undefined): GlobalScope {
  const env = predefined.clone();
  const args = new Map<string, GlobalArg>();
  for (const ins of df.globalArgs) {
    for (const { key, value: written, description } of ins.args) {
      let value: string | undefined;
      let deps: string[] = [];
      if (buildArgs && has(buildArgs, key)) {
        value = buildArgs[key];
      } else if (written !== undefined) {
        const expanded = expandOrFail(df, ins, written, env);
        value = expanded.value;
        deps = expanded.matched.filter((name) => name !== key);
        // `ARG A=${A}-x` keeps what the earlier A read.
        if (expanded.matched.includes(key)) deps = [...new Set([...deps, ...(args.get(key)?.deps ?? [])])];
      }
      if (value !== undefined) env.set(key, value);
      args.set(key, { key, value, ...(description === undefined ? {} : { description }), line: ins.range.start.line, deps });
    }
  }
  return { env, args };
}

/** True when `name` is a valid image reference (distribution's grammar, Docker's normalisation). */
function isValidReference(name: string): boolean {
  try {
    parseReference(name);
    return true;
  } catch {
    return false;
  }
}

/** Evaluates the global scope and every FROM line, reporting the FROM checks. */
export function checkFromLines(df: Dockerfile, linter: Linter, options: ScopeOptions): { scope: GlobalScope; heads: StageHead[] } {
  const predefined = predefinedArgs(df, options);
  defaultsCheck(df, linter, predefined);
  const scope = globalArgs(df, predefined, options.buildArgs);
  const known = [...new Set([...scope.args.keys(), ...scope.env.keys()])];
  const reportUndeclared = (from: FromInstruction, expansion: TrackedExpansion): void => {
    for (const name of expansion.unmatched) {
      if (known.includes(name)) continue;
      linter.report(UndefinedArgInFrom, locationOf(from), UndefinedArgInFrom.message(name, searchSuggestion(name, known, true)));
    }
  };
  // As in BuildKit, what a FROM line reads is checked before its expansion error is reported.
  const expand = (from: FromInstruction, word: string): TrackedExpansion => {
    const expanded = expandTracked(word, scope.env.lookup(), df.directives.escape);
    reportUndeclared(from, expanded);
    return expanded;
  };
  const heads = df.stages.map(({ from }): StageHead => {
    const image = expand(from, from.image);
    if (image.error) failAt(df, from, image.error.message, from.image);
    if (image.value === '') failAt(df, from, `base name (${from.image}) should not be blank`, from.image);
    const used = [...image.matched];
    if (from.platform === undefined) return { base: image.value, used };
    const platform = expand(from, from.platform);
    platformChecks(from, platform, scope.env, linter);
    if (platform.error) failAt(df, from, platform.error.message, from.platform);
    if (platform.value === '') failAt(df, from, `empty platform value from expression ${from.platform}`, '--platform');
    let parsed: Platform;
    try {
      parsed = parsePlatform(platform.value);
    } catch (err) {
      return failAt(df, from, `failed to parse platform ${platform.value}: ${(err as Error).message}`, '--platform');
    }
    for (const name of platform.matched) if (!used.includes(name)) used.push(name);
    return { base: image.value, platform: parsed, used };
  });
  return { scope, heads };
}

/**
 * InvalidDefaultArgInFrom: with no build-args at all, every FROM must still name a valid image.
 * BuildKit gives this check up silently at the first expansion error.
 */
function defaultsCheck(df: Dockerfile, linter: Linter, predefined: EnvList): void {
  let scope: GlobalScope;
  try {
    scope = globalArgs(df, predefined, undefined);
  } catch {
    return;
  }
  for (const { from } of df.stages) {
    const name = expandTracked(from.image, scope.env.lookup(), df.directives.escape);
    if (name.error) return;
    if (!isValidReference(name.value)) linter.report(InvalidDefaultArgInFrom, locationOf(from), InvalidDefaultArgInFrom.message(from.image));
  }
}

/** RedundantTargetPlatform and FromPlatformFlagConstDisallowed for one `FROM --platform=…`. */
function platformChecks(from: FromInstruction, platform: TrackedExpansion, env: EnvList, linter: Linter): void {
  const written = from.platform ?? '';
  if (platform.matched.length === 1 && platform.unmatched.length === 0) {
    if (platform.matched[0] === 'TARGETPLATFORM' && platform.value === env.get('TARGETPLATFORM')) {
      linter.report(RedundantTargetPlatform, locationOf(from), RedundantTargetPlatform.message(written));
    }
  }
  if (platform.matched.length > 0 || platform.unmatched.length > 0) return;
  let parsed: Platform;
  try {
    parsed = parsePlatform(platform.value);
  } catch {
    return;
  }
  // A constant platform is fine in a stage named for it (`FROM --platform=linux/arm64 … AS build-arm64`).
  const stage = from.stageName ?? '';
  if (stage.includes(parsed.os) || stage.includes(parsed.architecture)) return;
  linter.report(FromPlatformFlagConstDisallowed, locationOf(from), FromPlatformFlagConstDisallowed.message(platform.value));
}
