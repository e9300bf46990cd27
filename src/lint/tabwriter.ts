/**
 * The tables `--call=outline` and `--call=targets` print, laid out as Go's `text/tabwriter` lays
 * out BuildKit's: every cell but a row's last is padded to its column's widest cell plus `padding`
 * spaces (widths counted in characters), so empty trailing cells leave trailing spaces, as there.
 */

/** Lays out `rows` (each with the same number of cells), one line each. */
export function formatTable(rows: ReadonlyArray<readonly string[]>, padding: number): string {
  const width = (text: string): number => Array.from(text).length;
  const columns = Math.max(0, ...rows.map((r) => r.length)) - 1;
  const widths = Array.from({ length: columns }, (_, c) => Math.max(...rows.map((r) => width(r[c] ?? ''))) + padding);
  return rows
    .map((row) =>
      row
        .map((cell, c) => (c < columns ? cell + ' '.repeat((widths[c] ?? 0) - width(cell)) : cell))
        .join('')
        .concat('\n'),
    )
    .join('');
}
