#!/usr/bin/env node
// The installed command: the CLI and its dependencies bundled at build time (`npm run build`), so
// start-up reads a few files instead of resolving ~125 library modules and the packages they
// import. The bundle is split in two at cli/library.ts: `dist/cli/tsbuild.mjs` is the command
// line (commander, the flags), `dist/cli/chunks/` the library, loaded when a command runs, so
// `--version` and `--help` never read it; a build reads three files. `dist/cli/main.js` is the
// same code unbundled. dockerfile-ast stays a runtime import (loaded only for Dockerfiles with
// parser directives).
import '../dist/cli/tsbuild.mjs';
