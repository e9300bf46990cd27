/**
 * Line-oriented progress on stderr (for CI logs and pipes): one line when a transfer finishes or is
 * skipped, messages as they come.
 */
import type { ProgressEvent, ProgressSink } from '../../index.js';

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

/** A sink writing plain progress lines to `out`. */
export function plainProgress(out: NodeJS.WritableStream = process.stderr): ProgressSink {
  return {
    emit(event: ProgressEvent): void {
      if (event.type === 'message') out.write(`${event.text}\n`);
      else if (event.done) out.write(`${event.label}: ${event.cached ? 'already exists' : `pulled ${formatBytes(event.total)}`}\n`);
    },
  };
}
