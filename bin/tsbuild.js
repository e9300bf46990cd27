#!/usr/bin/env node
// The installed command: the CLI bundled into one module at build time (`npm run build`), so start-up
// reads one file instead of resolving the library's ~125 modules; `dist/cli/main.js` is the same code
// unbundled.
import '../dist/cli/tsbuild.mjs';
