/**
 * Enforces the module map of docs/architecture.md: which src/ folders may import which, where each
 * third-party wrapper lives, and that plan/ stays pure. Like go-containerregistry's depcheck.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from './helpers/shared.js';

const src = path.join(projectRoot, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sourceFiles(full) : name.endsWith('.ts') ? [full] : [];
  });
}

/** Module of a src file: its top folder, or the file name for top-level files (`build.ts`). */
const moduleOf = (file: string): string => path.relative(src, file).split(path.sep)[0] ?? '';

const files = sourceFiles(src).map((file) => {
  const text = readFileSync(file, 'utf8');
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm),
  ].map((m) => m[1] ?? '');
  return { file, module: moduleOf(file), specifiers };
});

/** Internal modules each module may import (besides itself). `*` = anything. */
const ALLOWED: Record<string, string[]> = {
  'errors.ts': [],
  digest: ['errors.ts'],
  progress: ['errors.ts'],
  dockerfile: ['errors.ts'],
  image: ['errors.ts'],
  plan: ['dockerfile', 'image', 'errors.ts'],
  lint: ['dockerfile', 'plan', 'image', 'registry', 'errors.ts'],
  content: ['digest', 'util', 'errors.ts'],
  registry: ['digest', 'image', 'util', 'errors.ts'],
  images: ['image', 'util', 'errors.ts'],
  util: ['errors.ts'],
  solve: ['digest', 'progress', 'errors.ts'],
  cache: ['solve', 'content', 'digest', 'image', 'snapshot', 'util', 'errors.ts'],
  context: ['digest', 'util', 'errors.ts'],
  fileops: ['context', 'archive', 'digest', 'util', 'errors.ts'],
  snapshot: ['util', 'errors.ts'],
  archive: ['digest', 'image', 'util', 'errors.ts'],
  runtime: ['snapshot', 'image', 'util', 'errors.ts'],
  network: ['util', 'errors.ts'],
  ops: ['plan', 'runtime', 'snapshot', 'diff', 'content', 'digest', 'util', 'context', 'fileops', 'dockerfile', 'errors.ts'],
  diff: ['archive', 'snapshot', 'content', 'digest', 'runtime', 'image', 'util', 'errors.ts'],
  'settings.ts': ['registry', 'image'],
  'build.ts': ['*'],
  'check.ts': ['*'],
  builder: ['*'],
  export: ['archive', 'content', 'diff', 'digest', 'image', 'images', 'registry', 'progress', 'util', 'push.ts', 'errors.ts'],
  'pull.ts': ['*'],
  'push.ts': ['*'],
  'load.ts': ['*'],
  'local-images.ts': ['*'],
  'login.ts': ['*'],
  'maintenance.ts': ['*'],
  'index.ts': ['*'],
  cli: ['index.ts'],
};

/** Third-party packages and the only module allowed to import each. */
const WRAPPERS: Record<string, string> = {
  'dockerfile-ast': 'dockerfile',
  'tar-stream': 'archive',
  'p-queue': 'solve|pull.ts|push.ts',
  commander: 'cli',
};

describe('architecture', () => {
  it('finds the source files', () => expect(files.length).toBeGreaterThan(20));

  it.each(files.map((f) => [path.relative(projectRoot, f.file), f] as const))('%s imports only what its layer allows', (_name, f) => {
    const allowed = ALLOWED[f.module];
    expect(allowed, `module ${f.module} is not in the architecture map`).toBeDefined();
    for (const spec of f.specifiers) {
      if (spec.startsWith('.')) {
        const target = moduleOf(path.resolve(path.dirname(f.file), spec).replace(/\.js$/, '.ts'));
        if (target === f.module || allowed?.includes('*')) continue;
        expect(allowed, `${f.module} must not import ${target} (${spec})`).toContain(target);
      } else if (spec.startsWith('node:')) {
        if (f.module === 'plan' || f.module === 'lint') expect(spec, `${f.module}/ is pure: only node:path/posix`).toBe('node:path/posix');
      } else {
        const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? '');
        const owner = WRAPPERS[pkg];
        if (owner !== undefined) expect(owner.split('|'), `${pkg} may only be imported in ${owner}`).toContain(f.module);
      }
    }
  });
});
