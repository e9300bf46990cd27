/**
 * The terminal progress view, BuildKit style: finished steps print once and stay
 * (`=> [build 2/4] RUN make   1.2s`, `=> CACHED [build 1/4] COPY . .`); below them a live region is
 * redrawn in place: the header with the elapsed time and steps done, each running step with its
 * timer and last lines of output, byte progress of transfers and the base layers being extracted. Redraws are throttled; only the
 * live region moves, so a long build never scrolls a frame out of reach of the cursor.
 */
import type { ProgressEvent, ProgressSink, StepEvent } from '../../index.js';
import { formatBytes } from './plain.js';

/** A terminal: where frames go, and its width. */
export interface Terminal {
  write(text: string): unknown;
  columns?: number;
}

export interface TtyOptions {
  /** Milliseconds now (injectable for tests). */
  now?: () => number;
  /** Lines of a running step's output shown (BuildKit shows 6). */
  logLines?: number;
  /** Minimum milliseconds between redraws. */
  intervalMs?: number;
}

interface StepState {
  name: string;
  started: number;
  log: string[];
  partial: string;
}

interface Transfer {
  label: string;
  current: number;
  total: number;
  push: boolean;
}

/** A progress sink drawing on `out`; call `finish()` when the operation ends (also on failure). */
export function ttyProgress(out: Terminal, options: TtyOptions = {}): ProgressSink & { finish(failed?: boolean): void } {
  const now = options.now ?? Date.now;
  const logLines = options.logLines ?? 6;
  const interval = options.intervalMs ?? 100;
  const begun = now();
  const running = new Map<string, StepState>();
  const transfers = new Map<string, Transfer>();
  /** Base layers being unpacked, with when each began. */
  const extracting = new Map<string, { label: string; started: number }>();
  /** Steps known: from the plan event when there is one, else counted as they show up. */
  let total = 0;
  let planned = false;
  let done = 0;
  let liveHeight = 0;
  let lastDraw = 0;
  let timer: NodeJS.Timeout | undefined;

  const width = (): number => Math.max(40, out.columns ?? 80);
  const fit = (text: string): string => (text.length > width() ? `${text.slice(0, width() - 1)}…` : text);
  const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;
  const withTime = (text: string, ms: number): string => {
    const time = seconds(ms);
    const room = width() - time.length - 1;
    return `${text.length > room ? `${text.slice(0, room - 1)}…` : text.padEnd(room)} ${time}`;
  };

  /** Erases the live region, leaving the cursor where it began. */
  const clear = (): string => (liveHeight > 0 ? `\x1b[${liveHeight}A\r\x1b[J` : '');

  const live = (final: string | undefined): string[] => {
    const lines = [fit(`[+] Building ${seconds(now() - begun)} (${done}/${total})${final ? ` ${final}` : ''}`)];
    for (const step of running.values()) {
      lines.push(withTime(` => ${step.name}`, now() - step.started));
      for (const line of [...step.log, ...(step.partial ? [step.partial] : [])].slice(-logLines)) lines.push(fit(` => => # ${line}`));
    }
    for (const t of transfers.values()) {
      lines.push(fit(` => => ${t.push ? 'pushing' : 'pulling'} ${t.label} ${formatBytes(t.current)} / ${formatBytes(t.total)}`));
    }
    for (const x of extracting.values()) lines.push(withTime(` => => extracting ${x.label}`, now() - x.started));
    return lines;
  };

  const draw = (permanent: string[] = [], final?: string): void => {
    const lines = live(final);
    out.write(`${clear()}${permanent.map((l) => `${fit(l)}\n`).join('')}${lines.map((l) => `${l}\n`).join('')}`);
    liveHeight = lines.length;
    lastDraw = now();
  };

  const schedule = (): void => {
    if (now() - lastDraw >= interval) return draw();
    timer ??= setTimeout(() => {
      timer = undefined;
      draw();
    }, interval);
    timer.unref?.();
  };

  return {
    emit(event: ProgressEvent | StepEvent): void {
      if (event.type === 'message') return draw([event.text]);
      if (event.type === 'bytes') {
        if (event.done) {
          transfers.delete(event.id);
          const what = event.mounted
            ? 'mounted'
            : event.cached
              ? 'already exists'
              : `${event.push ? 'pushed' : 'pulled'} ${formatBytes(event.total)}`;
          return draw([` => ${event.label}: ${what}`]);
        }
        transfers.set(event.id, { label: event.label, current: event.current, total: event.total, push: event.push === true });
        return schedule();
      }
      if (event.type === 'extract') {
        if (!event.done) {
          extracting.set(event.id, { label: event.label, started: now() });
          return schedule();
        }
        extracting.delete(event.id);
        return draw([` => ${event.label}: extracted in ${(event.seconds ?? 0).toFixed(1)}s`]);
      }
      if (event.type === 'plan') {
        planned = true;
        total = event.steps;
        return schedule();
      }
      if (event.type === 'log') {
        const step = running.get(event.id);
        if (!step) return;
        const lines = (step.partial + event.chunk).split('\n');
        step.partial = lines.pop() ?? '';
        step.log.push(...lines);
        if (step.log.length > logLines) step.log.splice(0, step.log.length - logLines);
        return schedule();
      }
      if (event.status === 'started') {
        if (!planned) total++;
        running.set(event.id, { name: event.name, started: now(), log: [], partial: '' });
        return schedule();
      }
      if (event.status === 'cached') {
        if (!planned) total++;
        done++;
        return draw([` => CACHED ${event.name}`]);
      }
      const step = running.get(event.id);
      running.delete(event.id);
      if (event.status === 'done') done++;
      const elapsed = event.seconds !== undefined ? event.seconds * 1000 : now() - (step?.started ?? now());
      const tail =
        event.status === 'error' && step ? [...step.log, ...(step.partial ? [step.partial] : [])].slice(-logLines).map((l) => ` => => # ${l}`) : [];
      draw([withTime(` => ${event.status === 'error' ? 'ERROR ' : ''}${event.name}`, elapsed), ...tail]);
    },
    finish(failed = false): void {
      if (timer) clearTimeout(timer);
      timer = undefined;
      running.clear();
      transfers.clear();
      draw([], failed ? 'FAILED' : 'FINISHED');
    },
  };
}
