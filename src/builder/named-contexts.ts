/**
 * `--build-context NAME=SOURCE`: what a named context is and the image that stands in for it, with
 * BuildKit's semantics (frontend/dockerui/namedcontext.go). A stage called NAME is replaced by
 * it; `FROM NAME`, `COPY --from=NAME` and `RUN --mount from=NAME` read it (`plan/named-contexts.ts`).
 * - `docker-image://REF`: that image, resolved like any FROM (local store, registry, mirrors,
 *   credentials, the stage's platform).
 * - `oci-layout://DIR[:TAG|@DIGEST]`: the image in an OCI layout directory (`oci-layout-dir.ts`).
 * - a directory, a git repository or an `http(s)://` URL: files, as an image of one layer with an
 *   empty config (the directory as its own `.dockerignore` filters it; a git checkout without
 *   `.git`; a URL as the single file `context`, as BuildKit's HTTP source names it).
 */
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { loadBuildContext } from '../context/build-context.js';
import type { ContentStore } from '../content/store.js';
import { writeLayer } from '../diff/layer-writer.js';
import { doubleWalkChanges } from '../diff/walk-changes.js';
import { InvalidArgumentError, NotFoundError, UnsupportedError } from '../errors.js';
import { cloneGit, fetchUrl, parseGitSource, sourceKind } from '../fileops/remote-sources.js';
import type { Platform } from '../image/platform.js';
import { contextKey } from '../plan/named-contexts.js';
import { parseReference } from '../registry/reference.js';
import { scratchConfig } from '../plan/image-config.js';
import { statIfExists } from '../util/absent.js';
import { makeScratch } from '../util/scratch.js';
import { writeImage } from './assemble.js';
import type { BaseImages } from './base-images.js';
import { ContextViews } from './context-views.js';
import { readOciLayoutImage } from './oci-layout-dir.js';
import { goTimestamp } from './source-date-epoch.js';

/** One `--build-context`. */
export type NamedContext =
  | { name: string; kind: 'image'; ref: string }
  | { name: string; kind: 'oci-layout'; dir: string; tag?: string; digest?: string }
  | { name: string; kind: 'dir'; dir: string }
  | { name: string; kind: 'git'; url: string }
  | { name: string; kind: 'url'; url: string };

/** Parses `NAME=SOURCE` as buildx takes it. */
export function parseBuildContext(text: string): NamedContext {
  const eq = text.indexOf('=');
  const rawName = eq < 0 ? '' : text.slice(0, eq);
  const value = eq < 0 ? '' : text.slice(eq + 1);
  if (rawName === '' || value === '') throw new InvalidArgumentError(`invalid --build-context "${text}": expected NAME=SOURCE`);
  // BuildKit parses the name as an image reference (lowercase path, optional tag).
  try {
    parseReference(rawName);
  } catch {
    throw new InvalidArgumentError(`invalid --build-context "${text}": invalid context name ${rawName}`, {
      hint: 'a name is an image name: lowercase letters, digits, ._-/ and an optional :tag',
    });
  }
  const name = contextKey(rawName);
  if (value.startsWith('docker-image://')) {
    const ref = value.slice('docker-image://'.length);
    if (ref === '') throw new InvalidArgumentError(`invalid --build-context "${text}": docker-image:// needs a reference`);
    return { name, kind: 'image', ref };
  }
  if (value.startsWith('oci-layout://')) return { name, ...parseOciLayout(value.slice('oci-layout://'.length), text) };
  if (value.startsWith('target:')) throw new UnsupportedError(`--build-context "${text}": target: contexts exist only in buildx bake`);
  if (value.startsWith('input:')) throw new UnsupportedError(`--build-context "${text}": input: contexts are for frontends, not supported`);
  const remote = sourceKind(value);
  if (remote === 'git') return { name, kind: 'git', url: value };
  if (remote === 'http') return { name, kind: 'url', url: value };
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(value))
    throw new UnsupportedError(`--build-context "${text}": unsupported context source ${value.split(':')[0]}`);
  return { name, kind: 'dir', dir: value };
}

/** `DIR[:TAG][@sha256:…]`: the tag is after the last `:` of the last path element. */
function parseOciLayout(spec: string, text: string): { kind: 'oci-layout'; dir: string; tag?: string; digest?: string } {
  let rest = spec;
  let digest: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new InvalidArgumentError(`invalid --build-context "${text}": bad digest ${digest}`);
  }
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  let tag: string | undefined;
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  if (rest === '') throw new InvalidArgumentError(`invalid --build-context "${text}": oci-layout:// needs a directory`);
  return { kind: 'oci-layout', dir: rest, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** What resolving the contexts needs. */
export interface NamedContextDeps {
  bases: BaseImages;
  store: ContentStore;
  /** The state root directory (scratch space). */
  root: string;
  /** The build's target platform (files contexts are images of it; an OCI layout's index is searched for it). */
  platform: Platform;
  sourceDateEpoch?: number;
  signal?: AbortSignal;
}

/**
 * The image reference standing in for each named context, by name; contexts that are not registry
 * images are made or read into the store and registered with the build's base images.
 */
export async function resolveNamedContexts(contexts: readonly NamedContext[], deps: NamedContextDeps): Promise<Record<string, string>> {
  const refs: Record<string, string> = {};
  for (const context of contexts) {
    if (context.kind === 'image') {
      refs[context.name] = context.ref;
      continue;
    }
    const image = context.kind === 'oci-layout' ? await readOciLayoutImage(context, deps) : await filesImage(context, deps);
    // A reference no registry holds, unique to the content: the plan, cache keys and progress show it.
    const ref = `tsbuild-context/${context.name.replace(/[^a-z0-9._-]+/g, '-')}@${image.manifest.digest}`;
    await deps.bases.register(ref, image, image.configDigest);
    refs[context.name] = ref;
  }
  return refs;
}

type FilesContext = Extract<NamedContext, { kind: 'dir' | 'git' | 'url' }>;

/** The files of a directory, git or URL context as a one-layer image of the target platform. */
async function filesImage(context: FilesContext, deps: NamedContextDeps): Promise<Awaited<ReturnType<typeof readOciLayoutImage>>> {
  const scratch = await makeScratch(deps.root, 'named-context');
  try {
    const signal = deps.signal ? { signal: deps.signal } : {};
    let dir: string;
    if (context.kind === 'dir') {
      const info = await statIfExists(context.dir);
      if (!info?.isDirectory()) throw new NotFoundError(`--build-context ${context.name}: directory ${context.dir} not found`);
      dir = context.dir;
    } else if (context.kind === 'git') {
      dir = (await cloneGit(parseGitSource(context.url, false), path.join(scratch, 'git'), signal)).root;
    } else {
      dir = path.join(scratch, 'url');
      await mkdir(dir);
      const { file } = await fetchUrl(context.url, scratch, { ...signal, label: `--build-context ${context.name}=${context.url}` });
      await rename(file, path.join(dir, 'context'));
    }
    // The context's own .dockerignore applies, as BuildKit reads it for a local named context.
    const views = new ContextViews(await loadBuildContext(dir), deps.root);
    try {
      const tree = await views.pathFor('/', deps.signal);
      const empty = await mkdtemp(path.join(scratch, 'empty-'));
      const epoch = deps.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: deps.sourceDateEpoch };
      const layer = await writeLayer(await doubleWalkChanges(empty, tree), tree, deps.store, { ...epoch, ...signal });
      const created = goTimestamp((deps.sourceDateEpoch ?? 0) * 1000);
      const image = await writeImage(
        {
          platform: deps.platform,
          config: scratchConfig(),
          layers: [layer],
          history: [{ created, created_by: `[context ${context.name}]`, comment: 'tsbuild named context' }],
          created,
        },
        deps.store,
      );
      return { manifest: image.manifest, config: image.stored.config, layers: image.stored.manifest.layers, configDigest: image.config };
    } finally {
      await views.close();
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
