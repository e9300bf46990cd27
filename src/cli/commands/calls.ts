/**
 * `tsbuild build --call=check|outline|targets` (and `--check`): evaluate the build instead of
 * running it, printing what `docker buildx build --call=…` prints. Also the checks around a normal
 * build: a `# check=error=true` Dockerfile with findings fails before any step runs, and the
 * findings are listed once when the build ends.
 */
import type { CheckRequest, CheckResult } from '../../index.js';
import { hasCode, InvalidArgumentError } from '../../errors.js';
import { checkDockerfile, dockerfileTargets, outlineDockerfile } from '../verbs.js';
import type { CliContext } from '../context.js';
import { loadLibrary } from '../load-library.js';

/** A `--call` value: the method and its options (`check,ignorestatus=true`). */
export interface CallMethod {
  name: 'build' | 'check' | 'outline' | 'targets';
  /** Exit 0 even when the check has findings. */
  ignoreStatus: boolean;
}

const METHODS = ['build', 'check', 'outline', 'targets'] as const;

/** Parses `--call` as buildx does (`lint` is check's older name); `format=json` is not supported. */
export function parseCall(value: string): CallMethod {
  let name: string | undefined;
  let ignoreStatus = false;
  for (const field of value.split(',')) {
    const eq = field.indexOf('=');
    if (eq < 0) {
      if (name !== undefined) throw new InvalidArgumentError(`invalid --call value "${value}": more than one method`);
      name = field === 'lint' ? 'check' : field;
    } else if (field.slice(0, eq) === 'ignorestatus') {
      const flag = field.slice(eq + 1).toLowerCase();
      if (!['true', 'false', '1', '0'].includes(flag)) throw new InvalidArgumentError(`invalid --call ignorestatus value "${field.slice(eq + 1)}"`);
      ignoreStatus = flag === 'true' || flag === '1';
    } else {
      throw new InvalidArgumentError(`invalid --call option "${field}"`, { hint: 'only ignorestatus=true|false is supported (not format=json)' });
    }
  }
  if (!(METHODS as readonly string[]).includes(name ?? '')) {
    throw new InvalidArgumentError(`unknown --call method "${name ?? ''}"`, { hint: 'use check, outline, targets or build' });
  }
  return { name: name as CallMethod['name'], ignoreStatus };
}

/** Runs a `--call` other than build; the report goes to stdout. `expand` is `--debug`. */
export async function runCall(method: CallMethod, request: CheckRequest, cli: CliContext, expand: boolean): Promise<void> {
  const { lintViolation, formatBuildWarnings, formatCheckReport, formatOutline, formatTargets } = await loadLibrary();
  if (method.name === 'targets') {
    process.stdout.write(formatTargets(await dockerfileTargets(request)));
    return;
  }
  if (method.name === 'outline') {
    // BuildKit evaluates the target's stages for an outline, and lists their findings as a build does.
    const { outline, check } = await outlineDockerfile(request);
    process.stderr.write(formatBuildWarnings(check.warnings, check.file, check.source, expand));
    const violation = lintViolation(check);
    if (violation) throw violation;
    process.stdout.write(formatOutline(outline));
    return;
  }
  const result = await checkDockerfile(request);
  const violation = lintViolation(result);
  process.stdout.write(formatCheckReport(result.warnings, result.file, result.source, result.error !== undefined || violation !== undefined));
  if (result.error) throw result.error;
  if (violation) throw violation;
  // Findings are a failed check, as buildx reports them, unless the caller only wants the report.
  if (result.warnings.length > 0 && !method.ignoreStatus) cli.exitCode = 1;
}

/**
 * Before a build: with `# check=error=true`, findings stop it (base images are looked up in the
 * registry if they are not stored). Returns the check for `checkAfterBuild` to reuse when complete.
 * A Dockerfile the check cannot read is left for the build to report, except a bad `# check=`.
 */
export async function checkBeforeBuild(request: CheckRequest, printWarnings: boolean, expand: boolean): Promise<CheckResult | undefined> {
  // Loaded when a command runs, not when the CLI starts (`--version`, `--help`).
  const { lintViolation, formatBuildWarnings, CheckConfigError } = await loadLibrary();
  const local = await checkDockerfile({ ...request, bases: 'local' }).catch((err: unknown) => {
    if (err instanceof CheckConfigError) throw err;
    return undefined;
  });
  // The build meets (and reports) whatever failed here, except a damaged blob the check found and
  // removed: the build then fetches it again, and this line is the only word of it.
  if (hasCode(local?.error, 'digest-mismatch')) process.stderr.write(`warning: ${local?.error?.message ?? ''}\n`);
  if (!local?.config.error) return local;
  // A registry the check cannot reach leaves it with the stored bases; the build reports that registry itself.
  const full = local.unresolved.length > 0 ? await checkDockerfile(request).catch(() => local) : local;
  const violation = full.error ? undefined : lintViolation(full);
  if (violation) {
    if (printWarnings) process.stderr.write(formatBuildWarnings(full.warnings, full.file, full.source, expand));
    throw violation;
  }
  return full;
}

/** After a build: the findings, with the base images the build has now stored. */
export async function checkAfterBuild(request: CheckRequest, before: CheckResult | undefined): Promise<CheckResult | undefined> {
  if (before && before.unresolved.length === 0) return before;
  // The build has succeeded: a check that cannot run now only loses its list of findings.
  return checkDockerfile({ ...request, bases: 'local', pull: false }).catch(() => undefined);
}
