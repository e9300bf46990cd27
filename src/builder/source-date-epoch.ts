/**
 * `SOURCE_DATE_EPOCH`: from the build args or the environment, in seconds. When set it fixes every
 * new time stamp of the build (history, config) and clamps file times in new layers.
 */
import { InvalidArgumentError } from '../errors.js';

export function sourceDateEpoch(buildArgs: Record<string, string> | undefined, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const text = buildArgs?.SOURCE_DATE_EPOCH ?? env.SOURCE_DATE_EPOCH;
  if (text === undefined || text === '') return undefined;
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError(`invalid SOURCE_DATE_EPOCH: ${text}`);
  return Number(text);
}

/** The time a new step or image is made at: now, or the epoch when set. */
export function createdAt(epoch: number | undefined): string {
  return goTimestamp(epoch === undefined ? Date.now() : epoch * 1000);
}

/**
 * A time (Unix milliseconds) as BuildKit writes `created`, Go's RFC 3339 with nanoseconds: trailing
 * zeros of the fraction dropped, and the fraction with them (`2020-09-13T12:26:40Z`, not `.000Z`).
 */
export function goTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d*?)0+Z$/, (_, fraction: string) => (fraction ? `.${fraction}Z` : 'Z'));
}
