/**
 * The `docker load` archive: what `docker save` writes since Docker 25 — an OCI layout plus
 * `manifest.json` (config, repo tags and layer paths, which `docker load` and
 * `skopeo docker-archive:` read) and the legacy `repositories` file.
 */
import * as z from 'zod';
import { onFirstUse } from '../util/on-first-use.js';
import { parseChecked } from '../image/documents.js';
import type { ContentStore } from '../content/store.js';
import { digestHex, parseDigest } from '../digest/digest.js';
import { familiarName, parseReference } from '../registry/reference.js';
import { blobPath, type LayoutWriter } from './layout-writer.js';
import { writeOciLayout } from './oci-layout.js';
import type { StoredImage } from './stored-image.js';

/** `manifest.json`: an entry per image (config and layers by path, its tags). */
const archiveEntries = onFirstUse(() => z.array(z.looseObject({ Config: z.string(), RepoTags: z.array(z.string()), Layers: z.array(z.string()) })));
/** `repositories`: repository → tag → config id (the legacy format's index). */
const repositoriesFile = onFirstUse(() => z.record(z.string(), z.record(z.string(), z.string())));

/** Adds `image` to a docker archive, tagged with `names` (call once per image of the archive). */
export async function writeDockerArchive(layout: LayoutWriter, image: StoredImage, names: readonly string[], store: ContentStore): Promise<void> {
  await writeOciLayout(layout, image, names, store);
  const refs = names.map((n) => parseReference(n)).filter((r) => r.tag !== undefined);
  const repoTags = refs.map((r) => `${familiarName(r)}:${r.tag ?? 'latest'}`);
  const entries = parseChecked(archiveEntries(), (await layout.readFile('manifest.json')) ?? '[]', `${layout.location}: manifest.json`);
  // A tag names one image: drop it from entries written before; an image has one entry.
  const config = blobPath(image.manifest.config.digest);
  const kept = entries.map((e) => ({ ...e, RepoTags: e.RepoTags.filter((t) => !repoTags.includes(t)) }));
  const same = kept.find((e) => e.Config === config);
  if (same) same.RepoTags.push(...repoTags);
  else kept.push({ Config: config, RepoTags: repoTags, Layers: image.manifest.layers.map((l) => blobPath(l.digest)) });
  await layout.writeFile('manifest.json', `${JSON.stringify(kept)}\n`);
  const repositories = parseChecked(repositoriesFile(), (await layout.readFile('repositories')) ?? '{}', `${layout.location}: repositories`);
  const id = digestHex(parseDigest(image.manifest.config.digest));
  for (const r of refs) (repositories[familiarName(r)] ??= {})[r.tag ?? 'latest'] = id;
  await layout.writeFile('repositories', `${JSON.stringify(repositories)}\n`);
}
