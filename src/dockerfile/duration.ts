/**
 * Go's `time.ParseDuration`, which HEALTHCHECK flags use: a sequence of decimal numbers with units
 * (`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`), optionally signed, e.g. `1m30s`, `1.5h`, `100ms`, `0`.
 */

const UNIT_NANOS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Parses `text` to nanoseconds, or throws with Go's message. */
export function parseGoDuration(text: string): number {
  const invalid = (): Error => new Error(`time: invalid duration "${text}"`);
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw invalid();
  let total = 0;
  const part = /^(\d*\.?\d*)(ns|us|µs|μs|ms|s|m|h)?/u;
  while (rest !== '') {
    const match = part.exec(rest);
    const number = match?.[1] ?? '';
    if (!match || number === '' || number === '.') throw invalid();
    const unit = match[2];
    if (unit === undefined) throw new Error(`time: missing unit in duration "${text}"`);
    total += Number(number) * (UNIT_NANOS[unit] ?? 0);
    rest = rest.slice(match[0].length);
  }
  return sign * Math.round(total);
}

/** Formats nanoseconds the way Go's `Duration.String` does for whole units (`1m30s`, `100ms`). */
export function formatGoDuration(nanos: number): string {
  if (nanos === 0) return '0s';
  if (nanos < 1e3) return `${nanos}ns`;
  if (nanos < 1e6) return `${trim(nanos / 1e3)}µs`;
  if (nanos < 1e9) return `${trim(nanos / 1e6)}ms`;
  let seconds = nanos / 1e9;
  let out = '';
  const hours = Math.floor(seconds / 3600);
  if (hours > 0) out += `${hours}h`;
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  if (hours > 0 || minutes > 0) out += `${minutes}m`;
  seconds -= minutes * 60;
  return `${out}${trim(seconds)}s`;
}

function trim(value: number): string {
  return String(Number(value.toFixed(9)));
}
