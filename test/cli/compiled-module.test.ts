// The CommonJS bundles run through V8's code cache (src/cli/compiled-module.ts): what a cache that
// matches, one that does not and none at all give, and the built library and command line themselves.
import { isAscii } from 'node:buffer';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { loadCompiledModule, makeCodeCache } from '../../src/cli/compiled-module.js';
import { SHARED_MODULES } from '../../src/cli/load-library.js';
import { projectRoot } from '../helpers/shared.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-compiled-module-');

const BUNDLE = [
  "const shared = require('tsbuild:shared');",
  "const { sep } = require('node:path');",
  'function twice(n) { return n * 2; }',
  'module.exports = { answer: twice(shared.value), sep, dir: __dirname, file: __filename, self: this === module.exports };',
].join('\n');

const provided = { 'tsbuild:shared': { value: 21 } };

describe('loadCompiledModule', () => {
  it.each([
    { name: 'no cache', cache: undefined, expected: 'none' },
    { name: 'the cache made for it', cache: 'made', expected: 'accepted' },
    { name: 'a cache of other bytes', cache: 'garbage', expected: 'rejected' },
    { name: 'the cache of another source', cache: 'other', expected: 'rejected' },
  ] as const)('runs the bundle with $name: cache $expected', async ({ cache, expected }) => {
    const dir = tempDir();
    const file = path.join(dir, 'bundle.cjs');
    writeFileSync(file, BUNDLE);
    if (cache === 'made') writeFileSync(`${file}.cache`, await makeCodeCache(file, provided));
    if (cache === 'garbage') writeFileSync(`${file}.cache`, Buffer.alloc(4096, 7));
    if (cache === 'other') {
      const other = path.join(dir, 'other.cjs');
      writeFileSync(other, `${BUNDLE}\nmodule.exports.more = 1;`);
      writeFileSync(`${file}.cache`, await makeCodeCache(other, provided));
    }
    const loaded = loadCompiledModule(pathToFileURL(file), provided);
    expect(loaded).toEqual({ exports: { answer: 42, sep: '/', dir, file, self: true }, cache: expected });
  });

  // The build writes bundles in ASCII, read as Latin-1; a bundle with other text is read as UTF-8.
  it.each([
    { name: 'an ASCII bundle with escapes', source: "module.exports = { text: '\\u00b5s \\ud83e\\udd84', re: /\\u00b5s/u.test('\\u00b5s') };" },
    { name: 'a UTF-8 bundle', source: "module.exports = { text: '\u00b5s \u{1f984}', re: /\u00b5s/u.test('\u00b5s') };" },
  ])('reads $name as the text it holds', ({ source }) => {
    const file = path.join(tempDir(), 'bundle.cjs');
    writeFileSync(file, source);
    expect(loadCompiledModule(pathToFileURL(file))?.exports).toEqual({ text: '\u00b5s \u{1f984}', re: true });
  });

  it('answers undefined where there is no bundle', () => {
    expect(loadCompiledModule(pathToFileURL(path.join(tempDir(), 'absent.cjs')))).toBeUndefined();
  });

  it('leaves names it is not given to the bundle’s own require', () => {
    const dir = tempDir();
    const file = path.join(dir, 'bundle.cjs');
    writeFileSync(file, "module.exports = require('tsbuild:shared');");
    expect(() => loadCompiledModule(pathToFileURL(file))).toThrow(/Cannot find module 'tsbuild:shared'/);
  });
});

describe('the built bundles', () => {
  // `npm test` builds dist/ before the tests run.
  it.each([
    { bundle: 'library.cjs', provided: SHARED_MODULES, functions: ['build', 'pull', 'formatPlan'] },
    { bundle: 'tsbuild.cjs', provided: {}, functions: ['main'] },
  ])('$bundle runs with the cache the build made for it', ({ bundle, provided, functions }) => {
    const file = path.join(projectRoot, 'dist', 'cli', bundle);
    const loaded = loadCompiledModule(pathToFileURL(file), provided);
    const exports = loaded?.exports as Record<string, unknown>;
    expect([loaded?.cache, ...functions.map((name) => typeof exports[name])]).toEqual(['accepted', ...functions.map(() => 'function')]);
  });

  it.each(['library.cjs', 'tsbuild.cjs'])('%s is ASCII (read as Latin-1, without decoding UTF-8)', (bundle) => {
    const bytes = readFileSync(path.join(projectRoot, 'dist', 'cli', bundle));
    expect(isAscii(bytes)).toBe(true);
  });

  it('the command line hands the library its own error classes', async () => {
    const loaded = loadCompiledModule(pathToFileURL(path.join(projectRoot, 'dist', 'cli', 'tsbuild.cjs')));
    const { main } = loaded?.exports as { main: (argv: string[]) => Promise<number> };
    // A context that is not there: the library's error, reported by the command line as a user's error (1), not a bug (2).
    const writes = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const status = await main(['node', 'tsbuild', 'build', path.join(projectRoot, 'no-such-context')]);
      expect([status, writes.mock.calls.map(([text]) => String(text))]).toEqual([
        1,
        [`error: unable to prepare context: path "${path.join(projectRoot, 'no-such-context')}" not found\n`],
      ]);
    } finally {
      writes.mockRestore();
    }
  });
});
