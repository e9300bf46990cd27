/**
 * Golden tests of `tsbuild build --print-plan` over fixtures/dockerfiles (and compare/*): each case directory holds a
 * Dockerfile, variants.json (name → extra CLI arguments) and one golden output per variant.
 * Negative cases hold the exact stderr. UPDATE_GOLDENS=1 rewrites the goldens (review the diff).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tsbuild } from '../helpers/cli.js';
import { fixturePath } from '../helpers/shared.js';

const update = process.env.UPDATE_GOLDENS === '1';
const root = fixturePath('dockerfiles');

function golden(file: string, actual: string): void {
  if (update) writeFileSync(file, actual);
  expect(existsSync(file), `${file} is missing: run with UPDATE_GOLDENS=1`).toBe(true);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

// The comparison corpus (compare/<case>/) may hold plan goldens too.
const cases = [...readdirSync(root), ...readdirSync(path.join(root, 'compare')).map((name) => `compare/${name}`)]
  .filter((name) => existsSync(path.join(root, name, 'variants.json')))
  .flatMap((name) => {
    const { variants } = JSON.parse(readFileSync(path.join(root, name, 'variants.json'), 'utf8')) as {
      variants: Record<string, string[]>;
    };
    return Object.entries(variants).map(([variant, args]) => ({ name, variant, args }));
  });

describe('tsbuild build --print-plan (goldens)', () => {
  it('has the fixture cases', () => expect(cases.length).toBeGreaterThanOrEqual(7));

  it.each(cases)('$name ($variant)', ({ name, variant, args }) => {
    const json = args.includes('--print-plan=json');
    const result = tsbuild(['build', ...(json ? [] : ['--print-plan']), ...args, path.join('fixtures/dockerfiles', name)]);
    expect(result.status, result.stderr).toBe(0);
    golden(path.join(root, name, `${variant}.${json ? 'json' : 'txt'}`), result.stdout);
    const stderrFile = path.join(root, name, `${variant}.stderr`);
    if (result.stderr !== '' || existsSync(stderrFile)) golden(stderrFile, result.stderr);
  });
});

describe('tsbuild build errors (goldens)', () => {
  const negative = readdirSync(path.join(root, 'negative'));
  it.each(negative)('%s exits 1 with one located error line and an excerpt, no stack', (name) => {
    const result = tsbuild(['build', '--print-plan', path.join('fixtures/dockerfiles/negative', name)]);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toMatch(/^\s+at /m);
    golden(path.join(root, 'negative', name, 'error.txt'), result.stderr);
  });
});
