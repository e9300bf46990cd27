/**
 * The library as the commands use it (`library.ts`), loaded by the first command that needs it.
 * Built, it is `library.cjs` beside the command's bundle, a CommonJS bundle run with the code cache
 * the build made for it (`compiled-module.ts`): 50–60 ms less of every command's start than
 * compiling it as an ES module. It shares one module with the command line, `errors.ts`, so that
 * an error the library throws is an instance of the classes the command line checks; the bundle
 * leaves that module out and asks for it as `tsbuild:errors`. Where there is no bundle (the
 * sources run by the tests, or a build without one) it is the module itself.
 */
import * as errors from '../errors.js';
import { loadCompiledModule } from './compiled-module.js';

export type Library = typeof import('./library.js');

/** What the bundle asks for by name instead of bundling it. */
export const SHARED_MODULES = { 'tsbuild:errors': errors } as const;

let library: Promise<Library> | undefined;

export function loadLibrary(): Promise<Library> {
  library ??= Promise.resolve().then(
    () => (loadCompiledModule(new URL('./library.cjs', import.meta.url), SHARED_MODULES)?.exports as Library | undefined) ?? import('./library.js'),
  );
  return library;
}
