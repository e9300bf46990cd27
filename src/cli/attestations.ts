/**
 * `--provenance` and `--sbom`: CI scripts pass `--provenance=false` routinely (buildx attaches a
 * provenance attestation by default), so false is accepted in every spelling buildx takes (Go's
 * ParseBool falses, and `disabled=true`). tsbuild makes no attestations: asking for one — `true`,
 * `mode=min`, `mode=max`, a generator — is a clear error rather than an image quietly without it.
 */
import { UnsupportedError } from '../errors.js';

const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False', 'disabled=true']);

/** Checks `--provenance`/`--sbom` values; throws for anything but a way of saying false. */
export function checkAttestationFlag(flag: '--provenance' | '--sbom', value: string | undefined): void {
  if (value === undefined || FALSE.has(value)) return;
  throw new UnsupportedError(`${flag}=${value} is not supported: tsbuild does not make attestations`, {
    hint: `leave ${flag} out, or pass ${flag}=false`,
  });
}
