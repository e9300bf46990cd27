import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDockerignore } from '../../src/context/dockerignore.js';
import { sharedPath } from '../helpers/shared.js';

interface Case {
  row: number;
  lines: string[];
  path: string;
  result: 'excluded' | 'included' | 'error';
}

/** Splits a Markdown table row on unescaped pipes. */
function cells(row: string): string[] {
  return row
    .replace(/^\|/, '')
    .replace(/\|\s*$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

/** The text inside the first pair of backticks, with Markdown's `\|` unescaped. */
function code(cell: string): string {
  const match = /`([^`]*)`/.exec(cell);
  if (!match) throw new Error(`no code in cell: ${cell}`);
  return (match[1] ?? '').replace(/\\\|/g, '|');
}

/** Rows whose cells describe their bytes in words (the table explains them). */
const SPOKEN: Record<number, Partial<Case>> = {
  79: { lines: ['   *.log   '] },
  81: { lines: [' # not a comment'] },
  84: { lines: ['\ufeff*.tmp'] },
  85: { lines: ['*.log\r'] },
  115: { path: 'a.|)$(}+{bc' },
};

function cases(): Case[] {
  const text = readFileSync(sharedPath('conformance/dockerignore-cases.md'), 'utf8');
  return text
    .split('\n')
    .filter((line) => /^\| \d+ \|/.test(line))
    .map((line) => {
      const [num, lines, file, result] = cells(line);
      const row = Number(num);
      const parsed: Case = {
        row,
        lines: SPOKEN[row]?.lines ?? (lines ?? '').split('⏎').map((part) => code(part)),
        path: SPOKEN[row]?.path ?? code(file ?? ''),
        result: (result ?? '') as Case['result'],
      };
      return parsed;
    });
}

describe('.dockerignore conformance (shared/conformance/dockerignore-cases.md)', () => {
  const all = cases();
  it('reads all 116 cases', () => expect(all.map((c) => c.row)).toEqual(Array.from({ length: 116 }, (_, i) => i + 1)));

  it.each(all)('case $row: $lines against $path is $result', ({ lines, path, result }) => {
    const decide = (): boolean => parseDockerignore(lines.join('\n')).excludes(path);
    if (result === 'error') expect(decide).toThrow();
    else expect(decide()).toBe(result === 'excluded');
  });
});

describe('parseDockerignore errors', () => {
  it.each([
    ['!', '.dockerignore:1: illegal exclusion pattern: "!"'],
    ['ok\n[', '.dockerignore:2: invalid pattern "[": malformed character class'],
    ['\\', '.dockerignore:1: invalid pattern "\\": trailing backslash'],
  ])('%j', (text, message) => {
    expect(() => parseDockerignore(text)).toThrow(message);
  });
});
