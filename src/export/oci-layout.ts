/**
 * The OCI image layout (image-spec `image-layout.md`): `oci-layout`, `index.json` and
 * `blobs/sha256/…`. Each name is an `index.json` entry annotated, as BuildKit does, with the full
 * name (`io.containerd.image.name`) and its tag (`org.opencontainers.image.ref.name`), so
 * `skopeo copy oci:DIR:TAG` and `umoci unpack --image DIR:TAG` find it. Writing a name again
 * replaces its entry; other entries (earlier builds into the same directory) are kept. A
 * multi-platform image is named by its index, the platforms' manifests listed there.
 */
import { parseDocument } from '../image/documents.js';
import type { ContentStore } from '../content/store.js';
import { MediaType, type Descriptor, type Index } from '../image/oci-types.js';
import { formatReference, parseReference } from '../registry/reference.js';
import type { LayoutWriter } from './layout-writer.js';
import type { StoredIndex } from './platform-index.js';
import { imageBlobs, type StoredImage } from './stored-image.js';

const IMAGE_NAME = 'io.containerd.image.name';
const REF_NAME = 'org.opencontainers.image.ref.name';

/** Adds the image's blobs (config, layers, manifest) to the layout. */
export async function addImage(layout: LayoutWriter, image: StoredImage, store: ContentStore): Promise<void> {
  for (const blob of imageBlobs(image)) await layout.addBlob(blob, store);
  await layout.addBlob(image.descriptor, store);
}

/** Writes `image` into the layout under `names` (none: one unnamed entry). */
export async function writeOciLayout(layout: LayoutWriter, image: StoredImage, names: readonly string[], store: ContentStore): Promise<void> {
  await addImage(layout, image, store);
  const { os, architecture, variant } = image.config;
  await nameInLayout(layout, { ...image.descriptor, platform: { os, architecture, ...(variant ? { variant } : {}) } }, names);
}

/**
 * Writes a multi-platform image into the layout: every platform's image, the index, and
 * `index.json` entries naming the index (as BuildKit's `type=oci` output does for several platforms).
 */
export async function writeOciLayoutIndex(layout: LayoutWriter, stored: StoredIndex, names: readonly string[], store: ContentStore): Promise<void> {
  for (const image of stored.images) await addImage(layout, image, store);
  await layout.addBlob(stored.descriptor, store);
  await nameInLayout(layout, stored.descriptor, names);
}

/** Points `index.json` at `descriptor` under `names`, keeping the entries of other names. */
async function nameInLayout(layout: LayoutWriter, descriptor: Descriptor, names: readonly string[]): Promise<void> {
  await layout.writeFile('oci-layout', '{"imageLayoutVersion":"1.0.0"}');
  const current = await layout.readFile('index.json');
  const index: Index = current
    ? parseDocument('index', current, `${layout.location}: index.json`)
    : { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
  const full = names.map((n) => formatReference(parseReference(n)));
  const entries: Descriptor[] =
    full.length === 0 ? [descriptor] : full.map((name) => ({ ...descriptor, annotations: { [IMAGE_NAME]: name, ...refName(name) } }));
  const kept = index.manifests.filter((m) => {
    const name = m.annotations?.[IMAGE_NAME];
    if (name !== undefined) return !full.includes(name);
    return !(full.length === 0 && m.digest === descriptor.digest && m.annotations === undefined);
  });
  await layout.writeFile('index.json', `${JSON.stringify({ ...index, manifests: [...kept, ...entries] })}\n`);
}

function refName(name: string): Record<string, string> {
  const tag = parseReference(name).tag;
  return tag ? { [REF_NAME]: tag } : {};
}
