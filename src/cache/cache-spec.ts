/**
 * `--cache-to` / `--cache-from` specs, as buildx takes them:
 * - `type=local,dest=DIR` / `type=local,src=DIR`: a directory (blobs and `cache.json`);
 * - `type=registry,ref=REF`: an OCI manifest in a registry whose config lists the steps and whose
 *   layers are their layers.
 * `mode=min` exports only the steps of the final image, `mode=max` (tsbuild's default) every step
 * the build used: tsbuild runs every stage the target needs, so the intermediate stages' steps are
 * worth having on the next machine.
 */
import { InvalidArgumentError, UnsupportedError } from '../errors.js';
import { parseFields } from '../util/field-list.js';

export type CacheMode = 'min' | 'max';

export type CacheSpec = { type: 'local'; dir: string; mode: CacheMode } | { type: 'registry'; ref: string; mode: CacheMode };

/** Parses one `--cache-to` (`direction: 'to'`) or `--cache-from` spec. */
export function parseCacheSpec(spec: string, direction: 'to' | 'from'): CacheSpec {
  const flag = direction === 'to' ? '--cache-to' : '--cache-from';
  const fields = parseFields(spec, flag);
  const mode = fields.mode ?? 'max';
  if (mode !== 'min' && mode !== 'max') throw new InvalidArgumentError(`invalid ${flag} "${spec}": mode must be min or max, not "${mode}"`);
  switch (fields.type) {
    case 'local': {
      const key = direction === 'to' ? 'dest' : 'src';
      const dir = fields[key];
      if (!dir) throw new InvalidArgumentError(`invalid ${flag} "${spec}": type=local needs ${key}=DIR`);
      return { type: 'local', dir, mode };
    }
    case 'registry': {
      if (!fields.ref) throw new InvalidArgumentError(`invalid ${flag} "${spec}": type=registry needs ref=NAME:TAG`);
      return { type: 'registry', ref: fields.ref, mode };
    }
    case undefined:
      throw new InvalidArgumentError(`invalid ${flag} "${spec}": missing type=`, { hint: 'use type=local or type=registry' });
    default:
      throw new UnsupportedError(`${flag} type=${fields.type} is not supported`, { hint: 'use type=local or type=registry' });
  }
}
