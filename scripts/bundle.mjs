// The bundles `npm run build` makes from tsc's output in dist/ (bin/tsbuild.js says why):
// - dist/cli/tsbuild.cjs: the command line (commander, src/cli) as one CommonJS bundle that
//   exports `main` and runs nothing when loaded; bin/tsbuild.js runs it through V8's code cache
//   (src/cli/compiled-module.ts), with that cache beside it: dist/cli/tsbuild.cjs.cache;
// - dist/cli/library.cjs: the library as one CommonJS bundle, loaded by the first command that
//   needs it (src/cli/load-library.ts), through its own code cache, dist/cli/library.cjs.cache;
// - dist/cli/compiled-module.cjs: the loader of those two, for bin/tsbuild.js, which is CommonJS;
// - dist/cli/tsbuild.mjs: the command line as a program, an ES module split so that the library is
//   a chunk of its own (dist/cli/chunks/): what bin/tsbuild.js runs where there is no tsbuild.cjs.
// Each cache is made here by loading its bundle in this Node, so it is accepted by this Node
// version and no other. Both CommonJS bundles have errors.ts: the library's leaves it out and is
// handed the command line's (`tsbuild:errors`), so that both share one set of error classes.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';

const dist = path.resolve('dist');
const cliDir = path.join(dist, 'cli');
const errorsModule = path.join(dist, 'errors.js');
const libraryModule = path.join(cliDir, 'library.js');

await build({
  entryPoints: { tsbuild: 'dist/cli/run.js' },
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  outdir: 'dist/cli',
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  logLevel: 'warning',
  banner: { js: "import { createRequire as bundleRequire } from 'node:module'; const require = bundleRequire(import.meta.url);" },
});

/** esbuild's settings for a CommonJS bundle whose `import.meta.url` is its own URL, as in the ES module bundle. */
const commonJs = (entry, outfile, plugins = []) => ({
  entryPoints: [entry],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  outfile,
  logLevel: 'warning',
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: "var __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins,
});

/**
 * Rewrites the bundle `file` in ASCII, for the loader to decode as Latin-1 (src/cli/compiled-module.ts).
 * esbuild escapes what is not ASCII in strings but leaves it in comments and regular expressions,
 * where a `\u` escape per UTF-16 code unit means the same (a pair of them, for a character beyond
 * U+FFFF, is that character to a regular expression with or without the `u` flag).
 */
function asciiOnly(file) {
  const text = readFileSync(file, 'utf8');
  writeFileSync(
    file,
    text.replace(/[\u0080-\uffff]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`),
  );
}

const library = path.join(cliDir, 'library.cjs');
/**
 * An esbuild plugin that answers the imports of one module of dist/, `file`, with `answer` (an
 * onResolve result), and sets up anything else the answer needs with `more`.
 */
const instead = (name, file, answer, more = () => {}) => ({
  name,
  setup(b) {
    const filter = new RegExp(`${path.basename(file).replace(/\./g, '\\.')}$`);
    b.onResolve({ filter }, (args) => (path.resolve(args.resolveDir, args.path) === file ? answer : undefined));
    more(b);
  },
});

await build(commonJs('dist/cli/library.js', library, [instead('shared-errors', errorsModule, { path: 'tsbuild:errors', external: true })]));
asciiOnly(library);

// The command line loads library.cjs; its fallback, the library as an ES module, would bring its
// own errors.ts (so no error it threw would be one of the command line's classes), and code run
// through vm.Script has no import() without a hook. Here it is a clear error instead.
const commandLine = path.join(cliDir, 'tsbuild.cjs');
await build(
  commonJs('dist/cli/main.js', commandLine, [
    instead('library-bundle-only', libraryModule, { path: 'library-missing', namespace: 'tsbuild' }, (b) =>
      b.onLoad({ filter: /.*/, namespace: 'tsbuild' }, () => ({
        contents: "throw new Error('dist/cli/library.cjs, the library of this command line, is missing: run `npm run build`');",
        loader: 'js',
      })),
    ),
  ]),
);

asciiOnly(commandLine);

await build({
  entryPoints: ['dist/cli/compiled-module.js'],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  outfile: path.join(cliDir, 'compiled-module.cjs'),
  logLevel: 'warning',
});

// A cache holds what is compiled when it is made: the bundle's top level, and the functions the
// exercise calls, compiled on their first call otherwise. Nothing here needs root or touches a
// state root but a temporary one.

/** The library: planning a small Dockerfile (the parser, the expander, the planner). */
const exerciseLibrary = async (lib) => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-bundle-'));
  try {
    writeFileSync(path.join(work, 'Dockerfile'), EXERCISE_DOCKERFILE);
    lib.formatPlan(await lib.loadPlan({ context: work, buildArgs: { V: '2' } }));
  } catch (err) {
    console.warn(`bundle: the library's code cache covers the top level only: planning failed: ${err.message}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
};

/**
 * The command line: what every command runs (commander's set-up of every command and its parse)
 * and what a build runs before the build proper (the flags read, the context opened, the plan),
 * through `--help` and `build --print-plan` with a build's usual flags. Their output is dropped.
 */
const exerciseCommandLine = async ({ main }) => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-bundle-'));
  const context = path.join(work, 'context');
  const writes = { stdout: process.stdout.write, stderr: process.stderr.write };
  const failures = [];
  try {
    mkdirSync(context);
    writeFileSync(path.join(context, 'Dockerfile'), EXERCISE_DOCKERFILE);
    process.stdout.write = process.stderr.write = () => true;
    const runs = [
      ['--help'],
      ['build', '--help'],
      ['--root', path.join(work, 'root'), 'build', '-q', '-t', 'exercise:latest', '--build-arg', 'V=2', '--print-plan', context],
    ];
    for (const args of runs) {
      const status = await main(['node', 'tsbuild', ...args]);
      if (status !== 0) failures.push(`${args.join(' ')}: exit status ${status}`);
    }
  } finally {
    Object.assign(process.stdout, { write: writes.stdout });
    Object.assign(process.stderr, { write: writes.stderr });
    rmSync(work, { recursive: true, force: true });
  }
  for (const failure of failures) console.warn(`bundle: the command line's code cache is incomplete: ${failure}`);
};

const EXERCISE_DOCKERFILE =
  'FROM scratch AS base\nARG V=1\nENV A=$V B="x y"\nCOPY --chmod=644 . /src/\nFROM base\nWORKDIR /app\nRUN --mount=type=cache,target=/c echo $A > /x\nCOPY --from=base /src /app/src\nLABEL a=b\nEXPOSE 80/tcp\nCMD ["sh"]\n';

const { makeCodeCache } = await import(path.join(cliDir, 'compiled-module.js'));
const { SHARED_MODULES } = await import(path.join(cliDir, 'load-library.js'));
writeFileSync(`${library}.cache`, await makeCodeCache(library, SHARED_MODULES, exerciseLibrary));
writeFileSync(`${commandLine}.cache`, await makeCodeCache(commandLine, {}, exerciseCommandLine));
