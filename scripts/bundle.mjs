// The bundles `npm run build` makes from tsc's output in dist/ (bin/tsbuild.js says why):
// - dist/cli/tsbuild.mjs: the command line, an ES module, split so that the library is a chunk of
//   its own (dist/cli/chunks/), which it loads only where there is no library.cjs;
// - dist/cli/library.cjs: the library as one CommonJS bundle, run through V8's code cache
//   (src/cli/compiled-module.ts), with that cache beside it: dist/cli/library.cjs.cache, made here
//   by loading the bundle in this Node, so it is accepted by this Node version and no other.
// The library bundle leaves errors.ts out: the command line hands it its own (`tsbuild:errors`).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';

const dist = path.resolve('dist');
const errorsModule = path.join(dist, 'errors.js');

await build({
  entryPoints: ['dist/cli/main.js'],
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  outdir: 'dist/cli',
  entryNames: 'tsbuild',
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  logLevel: 'warning',
  banner: { js: "import { createRequire as bundleRequire } from 'node:module'; const require = bundleRequire(import.meta.url);" },
});

const library = path.join(dist, 'cli', 'library.cjs');
await build({
  entryPoints: ['dist/cli/library.js'],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  outfile: library,
  logLevel: 'warning',
  // import.meta.url is the bundle's own URL, as in the ES module bundle.
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: "var __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [
    {
      name: 'shared-errors',
      setup(b) {
        b.onResolve({ filter: /errors\.js$/ }, (args) =>
          path.resolve(args.resolveDir, args.path) === errorsModule ? { path: 'tsbuild:errors', external: true } : undefined,
        );
      },
    },
  ],
});

// The cache holds what is compiled when it is made: the bundle's top level, and the functions that
// planning a small Dockerfile calls (the parser, the expander, the planner), compiled on their
// first call otherwise. Nothing here needs root or touches a state root.
const exercise = async (lib) => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-bundle-'));
  try {
    writeFileSync(
      path.join(work, 'Dockerfile'),
      'FROM scratch AS base\nARG V=1\nENV A=$V B="x y"\nCOPY --chmod=644 . /src/\nFROM base\nWORKDIR /app\nRUN --mount=type=cache,target=/c echo $A > /x\nCOPY --from=base /src /app/src\nLABEL a=b\nEXPOSE 80/tcp\nCMD ["sh"]\n',
    );
    lib.formatPlan(await lib.loadPlan({ context: work, buildArgs: { V: '2' } }));
  } catch (err) {
    console.warn(`bundle: the code cache covers the top level only: planning failed: ${err.message}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
};
const { makeCodeCache } = await import(path.join(dist, 'cli', 'compiled-module.js'));
const { SHARED_MODULES } = await import(path.join(dist, 'cli', 'load-library.js'));
writeFileSync(`${library}.cache`, await makeCodeCache(library, SHARED_MODULES, exercise));
