/**
 * Line-oriented progress on stderr (for CI logs and pipes): one line when a transfer finishes or is
 * skipped, messages as they come.
 */
import type { ProgressEvent, ProgressSink, StepEvent } from '../../index.js';

/** Formats a byte count the way docker does (decimal units). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value}${units[0]}` : `${value.toFixed(value < 10 ? 2 : 1)}${units[unit]}`;
}

/**
 * A sink writing plain progress lines to `out`, BuildKit style: `#3 [build 2/4] RUN make`, its
 * output as `#3 <line>`, then `#3 DONE 1.2s` or `#3 CACHED`.
 */
export function plainProgress(out: NodeJS.WritableStream = process.stderr, now: () => number = Date.now): ProgressSink {
  const numbers = new Map<string, number>();
  const number = (id: string): number => {
    if (!numbers.has(id)) numbers.set(id, numbers.size + 1);
    return numbers.get(id) as number;
  };
  const partial = new Map<string, string>();
  /** When each step started: its output lines carry the seconds since, as BuildKit's do (`#5 0.057 one`). */
  const started = new Map<string, number>();
  const elapsed = (id: string): string => ((now() - (started.get(id) ?? now())) / 1000).toFixed(3);
  return {
    emit(event: ProgressEvent | StepEvent): void {
      if (event.type === 'plan') return;
      if (event.type === 'message') out.write(`${event.text}\n`);
      else if (event.type === 'bytes') {
        if (event.done)
          out.write(
            `${event.label}: ${event.mounted ? 'mounted' : event.cached ? 'already exists' : `${event.push ? 'pushed' : 'pulled'} ${formatBytes(event.total)}`}\n`,
          );
      } else if (event.type === 'extract') {
        if (event.done) out.write(`${event.label}: extracted in ${(event.seconds ?? 0).toFixed(1)}s\n`);
      } else if (event.type === 'log') {
        const text = (partial.get(event.id) ?? '') + event.chunk;
        const lines = text.split('\n');
        partial.set(event.id, lines.pop() ?? '');
        for (const line of lines) out.write(`#${number(event.id)} ${elapsed(event.id)} ${line}\n`);
      } else {
        const n = number(event.id);
        if (event.status === 'started') started.set(event.id, now());
        if (event.status === 'started') out.write(`#${n} ${event.name}${event.reason ? ` (cache miss: ${event.reason})` : ''}\n`);
        else if (event.status === 'cached') out.write(`#${n} ${event.name}\n#${n} CACHED\n`);
        else if (event.status === 'done') {
          const rest = partial.get(event.id);
          if (rest) out.write(`#${n} ${elapsed(event.id)} ${rest}\n`);
          out.write(`#${n} DONE ${(event.seconds ?? 0).toFixed(1)}s\n`);
        } else {
          const rest = partial.get(event.id);
          if (rest) out.write(`#${n} ${elapsed(event.id)} ${rest}\n`);
          out.write(`#${n} ERROR: ${event.reason ?? ''}\n`);
        }
      }
    },
  };
}

/**
 * One JSON object per line (events as the library emits them, each failed step's `error` event
 * included), for tools; `result` ends the stream with the build's outcome.
 */
export function jsonProgress(out: NodeJS.WritableStream = process.stderr): ProgressSink & { result(outcome: Record<string, unknown>): void } {
  const line = (event: object): void => void out.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
  return { emit: line, result: (outcome) => line({ type: 'result', ...outcome }) };
}
