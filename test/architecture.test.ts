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
    // A module loaded on first use (`await import('./x.js')`) is a dependency like any other.
    ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1] ?? '');
  return { file, module: moduleOf(file), specifiers };
});

/** Import cycles between source files (type-only imports included), each as the files around it. */
function importCycles(): string[][] {
  const edges = new Map(
    files.map((f) => [
      f.file,
      f.specifiers.filter((s) => s.startsWith('.')).map((s) => path.resolve(path.dirname(f.file), s).replace(/\.js$/, '.ts')),
    ]),
  );
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of edges.get(file) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].map((f) => path.relative(src, f)));
      else if (!state.has(next) && edges.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of edges.keys()) if (!state.has(file)) visit(file);
  return cycles;
}

/** Internal modules each module may import (besides itself). `*` = anything. */
const ALLOWED: Record<string, string[]> = {
  'errors.ts': [],
  digest: ['errors.ts'],
  progress: ['errors.ts'],
  dockerfile: ['errors.ts'],
  image: ['errors.ts'],
  util: ['errors.ts'],
  plan: ['dockerfile', 'image', 'errors.ts'],
  lint: ['dockerfile', 'plan', 'image', 'registry', 'errors.ts'],
  solve: ['digest', 'progress', 'errors.ts'],
  content: ['digest', 'util', 'errors.ts'],
  http: ['util', 'errors.ts'],
  registry: ['content', 'digest', 'http', 'image', 'progress', 'util', 'errors.ts'],
  images: ['image', 'digest', 'util', 'errors.ts'],
  archive: ['digest', 'image', 'util', 'errors.ts'],
  context: ['digest', 'util', 'errors.ts'],
  fileops: ['context', 'archive', 'digest', 'http', 'util', 'errors.ts'],
  snapshot: ['util', 'errors.ts'],
  runtime: ['snapshot', 'image', 'util', 'errors.ts'],
  network: ['util', 'errors.ts'],
  diff: ['archive', 'snapshot', 'content', 'digest', 'runtime', 'image', 'util', 'errors.ts'],
  cache: ['solve', 'content', 'digest', 'image', 'snapshot', 'util', 'errors.ts'],
  ops: ['plan', 'runtime', 'network', 'snapshot', 'diff', 'content', 'digest', 'util', 'context', 'fileops', 'dockerfile', 'errors.ts'],
  state: ['cache', 'content', 'diff', 'digest', 'image', 'images', 'progress', 'registry', 'runtime', 'snapshot', 'util', 'errors.ts'],
  export: ['archive', 'content', 'diff', 'digest', 'image', 'images', 'registry', 'progress', 'state', 'util', 'errors.ts'],
  rootless: ['registry', 'state', 'util', 'errors.ts'],
  builder: [
    'archive',
    'network',
    'cache',
    'content',
    'context',
    'diff',
    'digest',
    'dockerfile',
    'export',
    'fileops',
    'image',
    'images',
    'ops',
    'plan',
    'progress',
    'registry',
    'runtime',
    'snapshot',
    'solve',
    'state',
    'util',
    'errors.ts',
  ],
  verbs: ['*'],
  exports: ['*'],
  'index.ts': ['*'],
  'cli-support.ts': ['*'],
  // The command line is a client of the public API (the main entry and its subpaths), and of
  // cli-support.ts for what only a command line needs. It takes the error classes from errors.ts
  // itself, where the main entry has them, so that starting it loads no verb (cli/library.ts).
  cli: ['index.ts', 'exports', 'cli-support.ts', 'errors.ts'],
};

/** Third-party packages and the only module allowed to import each. */
const WRAPPERS: Record<string, string> = {
  'dockerfile-ast': 'dockerfile',
  'tar-stream': 'archive',
  'p-queue': 'solve|registry',
  commander: 'cli',
};

/**
 * Each on-disk medium's readers and writers, which sit in one module (issue 21: "keep each medium's
 * read and write together"), so a change to the format is made in one place.
 */
const MEDIA: Record<string, { module: string; read: string[]; write: string[] }> = {
  'OCI layout directory': { module: 'export', read: ['read-oci-layout.ts'], write: ['oci-layout.ts', 'layout-writer.ts'] },
  'OCI layout and docker archive tars': {
    module: 'export',
    read: ['read-archive.ts'],
    write: ['oci-layout.ts', 'docker-archive.ts', 'layout-writer.ts'],
  },
  'image index (images.json)': { module: 'images', read: ['image-index.ts'], write: ['image-index.ts'] },
};

describe('architecture', () => {
  it('finds the source files', () => expect(files.length).toBeGreaterThan(20));

  it.each(Object.entries(MEDIA))('%s: read and written in one module', (_medium, { module, read, write }) => {
    const inModule = new Set(files.filter((f) => f.module === module).map((f) => path.relative(path.join(src, module), f.file)));
    expect([...read, ...write].filter((file) => !inModule.has(file))).toEqual([]);
  });

  it('has no import cycle between source files', () => expect(importCycles()).toEqual([]));

  // A swallowed rejection must say why nothing is lost (issue 21): a comment on its line or beside it.
  it('explains every .catch(() => …) that drops an error', () => {
    const unexplained = sourceFiles(src).flatMap((file) => {
      const lines = readFileSync(file, 'utf8').split('\n');
      const comment = (line: string | undefined): boolean => line !== undefined && /\/\/|^\s*\*/.test(line);
      return lines.flatMap((line, i) =>
        line.includes('.catch(() =>') && !comment(line) && !comment(lines[i - 1]) && !comment(lines[i + 1])
          ? [`${path.relative(projectRoot, file)}:${i + 1}`]
          : [],
      );
    });
    expect(unexplained).toEqual([]);
  });

  // One error vocabulary (issue 21): a category is picked by its subclass (errors.ts), or by a
  // subclass with a meaning of its own (ExecError, RegistryError), never written as a raw code.
  it('constructs TsbuildError itself only in src/errors.ts', () => {
    const raw = sourceFiles(src)
      .filter((file) => path.relative(src, file) !== 'errors.ts')
      .flatMap((file) =>
        readFileSync(file, 'utf8')
          .split('\n')
          .flatMap((line, i) => (/\bnew\s+TsbuildError\s*\(/.test(line) ? [`${path.relative(projectRoot, file)}:${i + 1}`] : [])),
      );
    expect(raw, `raw new TsbuildError( outside src/errors.ts (use a subclass): ${raw.join(', ')}`).toEqual([]);
  });

  // What only the command line needs stays out of the public API: no entry point re-exports it.
  it('cli-support.ts is imported by cli/ alone', () => {
    const importers = files
      .filter((f) => f.specifiers.some((s) => s.startsWith('.') && path.resolve(path.dirname(f.file), s) === path.join(src, 'cli-support.js')))
      .map((f) => f.module);
    expect(importers.length).toBeGreaterThan(0);
    expect(importers.filter((m) => m !== 'cli')).toEqual([]);
  });

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
