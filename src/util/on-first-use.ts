/**
 * A value made the first time it is asked for. For what costs at module load and few runs need:
 * a zod schema made at the top of a module costs every command's start, the first instances of
 * zod's classes being the dearest (docs/performance.md, "Start-up").
 */

/** `make()`, called once, on the first call of the returned function. */
export function onFirstUse<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}
