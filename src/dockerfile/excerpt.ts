/**
 * BuildKit's source excerpt (`errdefs.Source.Print`), shared by the checks' findings and a failed
 * build step: `Dockerfile:6`, then the offending lines marked `>>>` between rules, with up to two
 * lines of context around a one-line location and one around a longer one.
 */

const RULE = '--------------------';

/** BuildKit's source excerpt of `location` in `source` (the Dockerfile's text), headed `file:line`. */
export function formatExcerpt(file: string, source: string, location: { start: number; end: number }): string {
  const lines = source.split('\n');
  let start = location.start;
  let end = Math.max(location.start, location.end);
  if (start < 1 || start > lines.length) return '';
  end = Math.min(end, lines.length);
  const first = start;
  // BuildKit's padding loop, kept as is: it decides how much context a finding gets.
  const pad = start === end ? 4 : 2;
  for (let p = 0; p < pad; p++) {
    if (start > 1) {
      start--;
      p++;
    }
    if (end !== lines.length) {
      end++;
      p++;
    }
  }
  let out = `${file}:${first}\n${RULE}\n`;
  for (let n = start; n <= end; n++) {
    const marker = n >= location.start && n <= Math.max(location.start, location.end) ? '>>>' : '   ';
    out += ` ${String(n).padStart(3)} | ${marker} ${lines[n - 1] ?? ''}\n`;
  }
  return `${out}${RULE}\n`;
}
