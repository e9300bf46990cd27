#!/bin/sh
":" //; [ -z "$NODE_EXTRA_CA_CERTS" ] || { export TSBUILD_EXTRA_CA_CERTS="$NODE_EXTRA_CA_CERTS"; unset NODE_EXTRA_CA_CERTS; }; exec node "$0" "$@"
// The installed command. Run as a program, the line above is a shell script: it moves the extra
// CA bundle Node would read at start-up (NODE_EXTRA_CA_CERTS: 3,600 lines, 100 ms of every start
// where it names the system bundle) to TSBUILD_EXTRA_CA_CERTS, which the registry client adds to
// Node's roots on its first https request, and starts Node on this same file. Run as
// `node bin/tsbuild.js`, the line is a string and a comment, and Node has read the bundle itself.
//
// The CLI and its dependencies are bundled at build time (`npm run build`, scripts/bundle.mjs), so
// start-up reads a few files instead of resolving ~125 library modules and the packages they
// import. The command line is `dist/cli/tsbuild.mjs` (commander, the flags); the library is
// `dist/cli/library.cjs`, loaded when a command runs (so `--version` and `--help` never read it)
// and compiled from the V8 code cache the build made beside it. `dist/cli/main.js` is the same code
// unbundled. dockerfile-ast stays a runtime import (loaded only for Dockerfiles with parser
// directives).
import '../dist/cli/tsbuild.mjs';
