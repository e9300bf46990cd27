/**
 * Finding a local image the way docker does: by name first (`app` is
 * `docker.io/library/app:latest`), then by id. tsbuild prints two digests of an image — the config
 * digest (its id, what `build -q` and `--iidfile` print, as buildx does) and the manifest digest
 * (`push`, `--metadata-file`, `load`) — so either, whole or as a prefix of its hex, reaches it, as
 * does the digest of the index a pull resolved. An untagged build is a dangling record, found the
 * same way.
 */
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import type { ImageIndex, ImageRecord } from '../images/image-index.js';
import { formatReference, parseReference } from '../registry/reference.js';

/** The records of one image: the one named, or every record of the image an id names. */
export interface ImageMatch {
  records: ImageRecord[];
  /** Whether the text was an id or digest (not a name). */
  byId: boolean;
}

const HEX = /^[a-f0-9]{1,64}$/;

/** The image `text` names; NotFoundError when none, InvalidArgumentError when a prefix fits several. */
export async function lookupImage(index: ImageIndex, text: string): Promise<ImageMatch> {
  const digestForm = text.startsWith('sha256:');
  const hex = digestForm ? text.slice(7) : text;
  // `sha256:…` and 64 hex digits can only be ids (docker's rule); anything else is tried as a name.
  if (!(digestForm || (hex.length === 64 && HEX.test(hex)))) {
    const record = await index.get(formatReference(parseReference(text)));
    if (record) return { records: [record], byId: false };
    if (!HEX.test(hex))
      throw new NotFoundError(`no image named ${formatReference(parseReference(text))} in the local store`, { hint: 'see tsbuild images' });
  }
  if (!HEX.test(hex)) throw new InvalidArgumentError(`invalid image id "${text}": expected sha256: and hex digits`);
  const records = (await index.list()).filter((r) => [r.config, r.manifest.digest, r.target.digest].some((d) => d.slice(7).startsWith(hex)));
  const images = new Set(records.map((r) => r.manifest.digest));
  if (images.size === 0) throw new NotFoundError(`no image with id or digest ${text} in the local store`, { hint: 'see tsbuild images' });
  if (images.size > 1) {
    throw new InvalidArgumentError(`image id prefix ${hex} is ambiguous (${images.size} images)`, {
      hint: 'give more of the id, or the manifest digest',
    });
  }
  return { records, byId: true };
}
