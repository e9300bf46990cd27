/**
 * Named contexts (`--build-context NAME=…`) in the plan: BuildKit looks a name up in the familiar
 * form of the reference (`docker.io/library/alpine:latest` and `alpine` are both `alpine`), and
 * never for `scratch` or `context`. The builder turns each context into an image it holds and gives
 * the plan its reference; the plan only swaps names for those references.
 */

/** The key a reference is looked up by: Docker Hub's default host, `library/` and `:latest` dropped. */
export function contextKey(ref: string): string {
  let name = ref;
  for (const prefix of ['docker.io/library/', 'index.docker.io/library/', 'docker.io/', 'index.docker.io/']) {
    if (name.startsWith(prefix) && name.length > prefix.length) {
      name = name.slice(prefix.length);
      break;
    }
  }
  if (name.endsWith(':latest') && !name.includes('@')) name = name.slice(0, -':latest'.length);
  return name;
}

/** The reference a named context gives for `ref`, if one does. */
export function namedContextRef(contexts: Readonly<Record<string, string>> | undefined, ref: string): string | undefined {
  if (!contexts) return undefined;
  const lower = ref.toLowerCase();
  if (lower === 'scratch' || lower === 'context') return undefined;
  const key = contextKey(ref);
  return Object.prototype.hasOwnProperty.call(contexts, key) ? contexts[key] : undefined;
}
