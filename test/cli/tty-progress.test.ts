/**
 * The terminal view, checked on what a terminal would show: a small screen model applies the
 * writes (text, newlines, cursor up, carriage return, clear to end) and the test reads its lines.
 */
import { describe, expect, it } from 'vitest';
import { ttyProgress } from '../../src/cli/render/tty.js';

/** A terminal screen: enough of VT100 for the view (`ESC[nA`, `ESC[J`, `\r`, `\n`). */
class Screen {
  lines: string[] = [''];
  row = 0;
  columns = 60;
  writes = 0;

  write(text: string): void {
    this.writes++;
    for (let i = 0; i < text.length; i++) {
      const c = text[i] as string;
      if (c === '\x1b') {
        // eslint-disable-next-line no-control-regex -- parsing the terminal's escape sequences
        const match = /^\x1b\[(\d*)([AJ])/.exec(text.slice(i));
        if (!match) throw new Error(`unexpected escape at ${JSON.stringify(text.slice(i, i + 6))}`);
        if (match[2] === 'A') this.row = Math.max(0, this.row - Number(match[1] || '1'));
        else {
          this.lines.splice(this.row + 1);
          this.lines[this.row] = '';
        }
        i += match[0].length - 1;
      } else if (c === '\r') {
        this.lines[this.row] = this.lines[this.row] ?? '';
      } else if (c === '\n') {
        this.row++;
        if (this.lines.length <= this.row) this.lines.push('');
      } else {
        this.lines[this.row] = (this.lines[this.row] ?? '') + c;
      }
    }
  }

  /** The visible text, trailing spaces and the empty last line dropped. */
  text(): string[] {
    return this.lines.map((l) => l.trimEnd()).filter((l, i, all) => i < all.length - 1 || l !== '');
  }
}

describe('tty progress', () => {
  it('keeps finished steps, redraws running steps with their last output lines, and ends FINISHED', () => {
    const screen = new Screen();
    let clock = 0;
    const view = ttyProgress(screen, { now: () => clock, intervalMs: 0, logLines: 2 });
    view.emit({ type: 'step', id: '0.0', name: '[base 1/3] FROM busybox', status: 'cached' });
    view.emit({ type: 'step', id: '0.1', name: '[base 2/3] RUN make', status: 'started' });
    clock = 1500;
    view.emit({ type: 'log', id: '0.1', chunk: 'compiling a\ncompiling b\ncompil' });
    view.emit({ type: 'bytes', id: 'sha256:aa', label: 'aaaaaaaaaaaa', current: 1_000_000, total: 4_000_000 });
    expect(screen.text()).toEqual([
      ' => CACHED [base 1/3] FROM busybox',
      '[+] Building 1.5s (1/2)',
      ' => [base 2/3] RUN make                                 1.5s',
      ' => => # compiling b',
      ' => => # compil',
      ' => => pulling aaaaaaaaaaaa 1.00MB / 4.00MB',
    ]);
    clock = 2000;
    view.emit({ type: 'log', id: '0.1', chunk: 'ing c\n' });
    view.emit({ type: 'bytes', id: 'sha256:aa', label: 'aaaaaaaaaaaa', current: 4_000_000, total: 4_000_000, done: true });
    view.emit({ type: 'step', id: '0.1', name: '[base 2/3] RUN make', status: 'done', seconds: 2 });
    view.emit({ type: 'step', id: '0.2', name: '[base 3/3] COPY --from=build /out /usr/local/bin/a-very-long-name-that-is-cut', status: 'started' });
    clock = 2300;
    view.emit({
      type: 'step',
      id: '0.2',
      name: '[base 3/3] COPY --from=build /out /usr/local/bin/a-very-long-name-that-is-cut',
      status: 'done',
      seconds: 0.3,
    });
    view.emit({ type: 'message', text: 'exporting to image' });
    view.finish();
    expect(screen.text()).toEqual([
      ' => CACHED [base 1/3] FROM busybox',
      ' => aaaaaaaaaaaa: pulled 4.00MB',
      ' => [base 2/3] RUN make                                 2.0s',
      ' => [base 3/3] COPY --from=build /out /usr/local/bin/a… 0.3s',
      'exporting to image',
      '[+] Building 2.3s (3/3) FINISHED',
    ]);
  });

  it('shows each base layer while it is extracted, with its timer, then the time it took', () => {
    const screen = new Screen();
    let clock = 0;
    const view = ttyProgress(screen, { now: () => clock, intervalMs: 0 });
    view.emit({ type: 'plan', steps: 2 });
    view.emit({ type: 'step', id: '0.0', name: '[1/2] FROM busybox', status: 'started' });
    view.emit({ type: 'extract', id: 'sha256:bb', label: 'bbbbbbbbbbbb' });
    clock = 300;
    view.emit({ type: 'extract', id: 'sha256:cc', label: 'cccccccccccc' });
    clock = 800;
    expect(screen.text()).toEqual([
      '[+] Building 0.3s (0/2)',
      ' => [1/2] FROM busybox                                  0.3s',
      ' => => extracting bbbbbbbbbbbb                          0.3s',
      ' => => extracting cccccccccccc                          0.0s',
    ]);
    view.emit({ type: 'extract', id: 'sha256:bb', label: 'bbbbbbbbbbbb', done: true, seconds: 0.8 });
    expect(screen.text()).toEqual([
      ' => bbbbbbbbbbbb: extracted in 0.8s',
      '[+] Building 0.8s (0/2)',
      ' => [1/2] FROM busybox                                  0.8s',
      ' => => extracting cccccccccccc                          0.5s',
    ]);
    view.finish();
  });

  it('a failed step keeps its last output lines; the header says FAILED', () => {
    const screen = new Screen();
    let clock = 0;
    const view = ttyProgress(screen, { now: () => clock, intervalMs: 0, logLines: 2 });
    view.emit({ type: 'step', id: '1', name: '[2/2] RUN ./test.sh', status: 'started' });
    view.emit({ type: 'log', id: '1', chunk: 'ok 1\nok 2\nnot ok 3\n' });
    clock = 700;
    view.emit({ type: 'step', id: '1', name: '[2/2] RUN ./test.sh', status: 'error' });
    view.finish(true);
    expect(screen.text()).toEqual([
      ' => ERROR [2/2] RUN ./test.sh                           0.7s',
      ' => => # ok 2',
      ' => => # not ok 3',
      '[+] Building 0.7s (0/1) FAILED',
    ]);
  });

  it('knows the total from the plan event: 0/4 before the first step, not a count that grows', () => {
    const screen = new Screen();
    let clock = 0;
    const view = ttyProgress(screen, { now: () => clock, intervalMs: 0 });
    view.emit({ type: 'plan', steps: 4 });
    expect(screen.text()).toEqual(['[+] Building 0.0s (0/4)']);
    view.emit({ type: 'step', id: '0.0', name: '[1/3] FROM busybox', status: 'cached' });
    view.emit({ type: 'step', id: '0.1', name: '[2/3] RUN make', status: 'started' });
    clock = 400;
    view.emit({ type: 'step', id: '0.1', name: '[2/3] RUN make', status: 'error', seconds: 0.4 });
    view.finish(true);
    expect(screen.text()).toEqual([
      ' => CACHED [1/3] FROM busybox',
      ' => ERROR [2/3] RUN make                                0.4s',
      '[+] Building 0.4s (1/4) FAILED',
    ]);
  });

  it('throttles redraws of output and byte progress', () => {
    const screen = new Screen();
    let clock = 0;
    const view = ttyProgress(screen, { now: () => clock, intervalMs: 100 });
    view.emit({ type: 'step', id: '1', name: 'RUN yes', status: 'started' });
    const before = screen.writes;
    for (let i = 0; i < 50; i++) view.emit({ type: 'log', id: '1', chunk: `y${i}\n` });
    expect(screen.writes - before).toBe(0);
    clock = 150;
    view.emit({ type: 'log', id: '1', chunk: 'last\n' });
    expect(screen.writes - before).toBe(1);
    view.finish();
  });
});
