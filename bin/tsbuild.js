#!/bin/sh
":" //; [ -z "$NODE_EXTRA_CA_CERTS" ] || { export TSBUILD_EXTRA_CA_CERTS="$NODE_EXTRA_CA_CERTS"; unset NODE_EXTRA_CA_CERTS; }; c=; read -r c 2>/dev/null </sys/devices/system/cpu/online; case $c in 0|0-1) p=1;; 0-2) p=2;; 0-3) p=3;; *) p=4;; esac; exec node --v8-pool-size=$p "$0" "$@"
// The installed command. Run as a program, the line above is a shell script: it moves the extra
// CA bundle Node would read at start-up (NODE_EXTRA_CA_CERTS: 3,600 lines, 100 ms of every start
// where it names the system bundle) to TSBUILD_EXTRA_CA_CERTS, which the registry client adds to
// Node's roots on its first https request, and starts Node on this same file with one V8 worker
// thread fewer than the CPUs online, where /sys lists 1 to 4 from CPU 0 on (else 4, Node's own
// number; reading the list with the shell's `read` starts no process). V8 compiles hot
// functions and helps its garbage collector on those threads: in a rebuild after one file changed
// on two CPUs, its four threads took 150-200 ms of CPU time away from the main thread and the RUN's
// container, and the rebuild took 20-45 ms longer than with one (docs/performance.md). Run as
// `node bin/tsbuild.js`, the line is a string and a comment: Node has read the bundle itself and
// has its own threads.
//
// The CLI and its dependencies are bundled at build time (`npm run build`, scripts/bundle.mjs), so
// start-up reads a few files instead of resolving ~125 library modules and the packages they
// import, and compiles little: Node 20 keeps no compiled code of a user's module between runs, so
// each bundle is CommonJS, run from the V8 code cache the build made beside it
// (src/cli/compiled-module.ts, itself `dist/cli/compiled-module.cjs`). The command line is
// `dist/cli/tsbuild.cjs` (commander, the flags; `main` runs a command); the library is
// `dist/cli/library.cjs`, loaded when a command runs (so `--version` and `--help` never read it).
// This file is CommonJS too (bin/package.json), so Node starts its CommonJS loader alone and
// never the ES module loader. Where there is no tsbuild.cjs, it imports `dist/cli/tsbuild.mjs`,
// the same command line as an ES module that runs itself (a cache V8 rejects costs the compile
// only). `dist/cli/run.js` is the same program unbundled. dockerfile-ast stays a runtime import
// (loaded only for Dockerfiles with parser directives).
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { loadCompiledModule } = require('../dist/cli/compiled-module.cjs');

const commandLine = loadCompiledModule(pathToFileURL(path.join(__dirname, '..', 'dist', 'cli', 'tsbuild.cjs')));
if (commandLine) {
  // Should Node run out of work before `main` settles (a bug: a stream that never ends), the
  // command must not pass for a success: the ES module entry's top-level await exits 13 then.
  let settled = false;
  commandLine.exports.main(process.argv).then(
    (status) => {
      settled = true;
      process.exitCode = status;
    },
    (err) => {
      settled = true;
      process.stderr.write(`internal error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 2;
    },
  );
  process.on('exit', () => {
    if (settled) return;
    process.stderr.write('internal error: the command stopped before it finished\nThis is a bug in tsbuild; please report it with the command you ran.\n');
    process.exitCode = 13;
  });
} else {
  import('../dist/cli/tsbuild.mjs');
}
