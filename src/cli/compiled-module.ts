/**
 * Runs a CommonJS bundle through V8's code cache. Node 20 caches the compiled code of its own
 * modules but of no user module (`module.enableCompileCache` is Node 22), so every command would
 * parse and compile the library's 900 KB again: 50–60 ms. `npm run build` writes the bundle's
 * compiled code beside it (`<bundle>.cache`, `scripts/bundle.mjs`); V8 takes it when the bundle,
 * the V8 version and its flags are the ones it was made with, and otherwise compiles the source as
 * usual (the result says which). The cache is part of the build, installed with it, never written
 * at run time.
 */
import { isAscii } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

export interface CompiledModule {
  exports: unknown;
  /** `accepted`: compiled code came from the cache; `rejected`: it did not match; `none`: no cache. */
  cache: 'accepted' | 'rejected' | 'none';
}

/**
 * Runs the CommonJS bundle at `url` (its `require` resolving from where it lies, but answering the
 * names in `provided` with those values, for modules the bundle shares with its caller); undefined
 * when there is no such file.
 */
export function loadCompiledModule(url: URL, provided: Readonly<Record<string, unknown>> = {}): CompiledModule | undefined {
  const file = fileURLToPath(url);
  const bytes = readIfExists(file);
  if (bytes === undefined) return undefined;
  // The build writes the bundles in ASCII (scripts/bundle.mjs), which Latin-1 decodes as it is, to
  // the string UTF-8 would give: 1 ms for the library's 0.9 MB against 3-4 ms of every start.
  const source = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
  const cachedData = readIfExists(`${file}.cache`);
  const { script, exports } = run(file, source, cachedData, provided);
  return { exports, cache: cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'accepted' };
}

/**
 * The code cache of the CommonJS bundle at `file`: compiled and run here, then `exercise`d (so the
 * functions it calls are compiled too, not only the top level), then serialized. A build step.
 */
export async function makeCodeCache(
  file: string,
  provided: Readonly<Record<string, unknown>> = {},
  exercise: (exports: unknown) => Promise<void> = () => Promise.resolve(),
): Promise<Buffer> {
  const { script, exports } = run(file, readFileSync(file, 'utf8'), undefined, provided);
  await exercise(exports);
  return script.createCachedData();
}

function run(
  file: string,
  source: string,
  cachedData: Buffer | undefined,
  provided: Readonly<Record<string, unknown>>,
): { script: vm.Script; exports: unknown } {
  // Node's own wrapper, on the bundle's first line, so its line numbers stay as they are.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
  });
  const load = createRequire(file);
  const require = Object.assign((id: string): unknown => (Object.hasOwn(provided, id) ? provided[id] : load(id)), load);
  const module = { exports: {} as unknown };
  (script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, require, module, file, path.dirname(file));
  return { script, exports: module.exports };
}

function readIfExists(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
