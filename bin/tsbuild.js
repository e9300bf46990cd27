#!/usr/bin/env node
// The installed command: the CLI and its dependencies bundled into one module at build time
// (`npm run build`), so start-up reads one file instead of resolving ~125 library modules and the
// packages they import; `dist/cli/main.js` is the same code unbundled. dockerfile-ast stays a
// runtime import (loaded only for Dockerfiles with parser directives).
import '../dist/cli/tsbuild.mjs';
