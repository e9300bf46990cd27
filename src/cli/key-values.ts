/**
 * Repeatable `KEY=VALUE` flags (`--build-arg`, `--label`), as docker reads them: `KEY=VALUE` sets,
 * a bare `KEY` takes the value from the environment (and is skipped when unset there).
 */
import { InvalidArgumentError } from '../errors.js';

/** Commander collector: appends one flag occurrence. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Turns collected `KEY=VALUE` strings into a record; `flag` names the flag in errors. */
export function keyValues(entries: readonly string[], flag: string, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const key = eq < 0 ? entry : entry.slice(0, eq);
    if (key === '') throw new InvalidArgumentError(`invalid ${flag} "${entry}": expected KEY=VALUE`);
    if (eq >= 0) out[key] = entry.slice(eq + 1);
    else if (env[key] !== undefined) out[key] = env[key];
  }
  return out;
}
