/**
 * The command line as a program: runs `main` with the process's arguments and sets its exit
 * status. The entry of the ES module bundle (`dist/cli/tsbuild.mjs`), which `bin/tsbuild.js` falls
 * back to where the CommonJS bundle is missing; the CommonJS bundle exports `main` instead, so
 * that loading it runs nothing.
 */
import { main } from './main.js';

process.exitCode = await main(process.argv);
