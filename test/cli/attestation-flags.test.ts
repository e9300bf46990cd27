/**
 * Issue 22: `--provenance=false` / `--sbom=false`, which CI scripts pass routinely, are accepted;
 * asking for an attestation is a one-line error naming the flag; a `# syntax=` directive warns that
 * tsbuild's own frontend parses the Dockerfile. Through the real CLI.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tsbuild } from '../helpers/cli.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-attest-');

function context(dockerfile: string): string {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'a.txt'), 'a\n');
  writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
  return dir;
}

describe('--provenance, --sbom and # syntax=', () => {
  it.each([
    [
      '--provenance=true',
      'error: --provenance=true is not supported: tsbuild does not make attestations\nleave --provenance out, or pass --provenance=false\n',
    ],
    [
      '--provenance=mode=min',
      'error: --provenance=mode=min is not supported: tsbuild does not make attestations\nleave --provenance out, or pass --provenance=false\n',
    ],
    [
      '--provenance=mode=max',
      'error: --provenance=mode=max is not supported: tsbuild does not make attestations\nleave --provenance out, or pass --provenance=false\n',
    ],
    ['--sbom=true', 'error: --sbom=true is not supported: tsbuild does not make attestations\nleave --sbom out, or pass --sbom=false\n'],
    [
      '--sbom=generator=x/y',
      'error: --sbom=generator=x/y is not supported: tsbuild does not make attestations\nleave --sbom out, or pass --sbom=false\n',
    ],
  ])('%s is refused before anything runs', (flag, stderr) => {
    const root = path.join(tempDir(), 'root');
    const result = tsbuild(['--root', root, 'build', flag, context('FROM scratch\nCOPY a.txt /\n')]);
    expect([result.status, result.stderr, result.stdout, existsSync(root)]).toEqual([1, stderr, '', false]);
  });

  it.skipIf(!isRoot).each([
    ['--provenance=false', '--sbom=false'],
    ['--provenance=0', '--sbom=False'],
    ['--provenance=disabled=true', '--sbom=f'],
  ])('%s %s builds', (provenance, sbom) => {
    const result = tsbuild(['--root', tempDir(), 'build', '-q', provenance, sbom, context('FROM scratch\nCOPY a.txt /\n')], { timeout: 60_000 });
    expect([result.status, result.stderr]).toEqual([0, '']);
    expect(result.stdout).toMatch(/^sha256:[a-f0-9]{64}\n$/);
  });

  it.skipIf(!isRoot)('# syntax= warns once that tsbuild uses its own frontend', () => {
    const dir = context('# syntax=docker/dockerfile:1.7\nFROM scratch\nCOPY a.txt /\n');
    const result = tsbuild(['--root', tempDir(), 'build', '--progress=plain', dir], { timeout: 60_000 });
    expect(result.status, result.stderr).toBe(0);
    const warnings = result.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    expect(warnings).toEqual([
      `warning: ${path.join(dir, 'Dockerfile')}:1: # syntax=docker/dockerfile:1.7 is not fetched: tsbuild parses with its own Dockerfile frontend`,
    ]);
  });
});
