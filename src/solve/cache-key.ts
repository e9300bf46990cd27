/**
 * Cache keys (BuildKit's CacheMap, simplified): a vertex's key is the digest of its definition, the
 * key of its parent (the previous step), the keys of the other vertices it reads, and the content
 * checksums of what it reads from outside (build-context files). Pure.
 */
import { canonicalJson, digestOf, type Digest } from '../digest/digest.js';

export interface KeyParts {
  /** The op's definition: everything that changes its result, nothing that does not. */
  definition: unknown;
  parent?: string;
  inputs?: readonly string[];
  content?: readonly string[];
}

export function cacheKey(parts: KeyParts): Digest {
  return digestOf(
    canonicalJson({ definition: parts.definition, parent: parts.parent ?? null, inputs: parts.inputs ?? [], content: parts.content ?? [] }),
  );
}
