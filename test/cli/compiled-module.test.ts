// The CommonJS bundles run through V8's code cache (src/cli/compiled-module.ts): what a cache that
// matches, one that does not and none at all give, and the built library and command line themselves.
import { writeFileSync } from 'node:fs';
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
