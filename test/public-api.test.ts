/**
 * The package's public surface, pinned: the exact run-time names of the main entry (the verbs and
 * the errors, nothing the CLI alone needs) and of each subpath, the package.json "exports" that
 * publish them, and the README's API reference, which must name every verb and error of the main
 * entry. An export added or dropped by accident fails here; one added on purpose is added here.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from './helpers/shared.js';

const VERBS = [
  'build',
  'checkDockerfile',
  'dockerfileTargets',
  'findImage',
  'imageHistory',
  'inspectImage',
  'listImages',
  'load',
  'loadPlan',
  'localImage',
  'login',
  'logout',
  'outlineDockerfile',
  'pruneState',
  'pull',
  'pullAllPlatforms',
  'push',
  'removeImage',
  'resolveRemoteImage',
  'saveImages',
  'tagImage',
  'usage',
];

const ERRORS = [
  'AlreadyExistsError',
  'CancelledError',
  'CheckConfigError',
  'DigestMismatchError',
  'DockerfileError',
  'ExecError',
  'FailedPreconditionError',
  'IntegrityError',
  'InternalError',
  'InvalidArgumentError',
  'NotFoundError',
  'PermissionDeniedError',
  'RegistryError',
  'TsbuildError',
  'UnavailableError',
  'UnsupportedError',
  'hasCode',
  'isCancelled',
  'isInvalidArgument',
  'isNotFound',
];

/** Each package.json export: its source, and the run-time names it exports, sorted. */
const ENTRIES: Array<[string, string, string[]]> = [
  ['.', 'src/index.ts', [...VERBS, ...ERRORS]],
  [
    './options',
    'src/exports/options.ts',
    [
      'buildOutputs',
      'parseAnnotation',
      'parseByteSize',
      'parseCacheSpec',
      'parseEntitlements',
      'parseHostEntry',
      'parseNetworkMode',
      'parseOutput',
      'parseSsh',
      'parseUlimit',
    ],
  ],
  [
    './dockerfile',
    'src/exports/dockerfile.ts',
    ['DockerfileError', 'ExpansionError', 'expandWord', 'expandWords', 'parseDockerfile', 'parseTriggers'],
  ],
  ['./plan', 'src/exports/plan.ts', ['formatPlan', 'formatPlatform', 'imageBases', 'parsePlatform', 'planBuild']],
  [
    './lint',
    'src/exports/lint.ts',
    [
      'ALL_RULES',
      'CheckConfigError',
      'buildOutline',
      'checkConfig',
      'formatBuildWarnings',
      'formatCheckReport',
      'formatExcerpt',
      'formatOutline',
      'formatTargets',
      'lintDockerfile',
      'listTargets',
      'parseCheckOptions',
      'prepareLint',
    ],
  ],
  [
    './registry',
    'src/exports/registry.ts',
    [
      'BlobSources',
      'DockerCredentials',
      'RegistryClient',
      'RegistryError',
      'RegistryHosts',
      'familiarName',
      'formatReference',
      'parseReference',
      'pullImage',
      'pushImage',
      'registriesConfigPath',
      'registryClient',
      'registryHosts',
      'resolveImage',
    ],
  ],
  [
    './storage',
    'src/exports/storage.ts',
    [
      'CopyingSnapshotter',
      'ImageIndex',
      'LocalContentStore',
      'MemoryContentStore',
      'MountDiffer',
      'OverlaySnapshotter',
      'RuncExecutor',
      'StateRoot',
      'StoreApplier',
      'applyLayer',
      'bindSource',
      'digestOf',
      'imageVariant',
      'overlayParts',
      'parseDigest',
      'readStoredImage',
      'selectSnapshotter',
      'stateRootPath',
      'writeTarget',
    ],
  ],
  ['./rootless', 'src/exports/rootless.ts', ['needsUserNamespace', 'runInUserNamespace']],
];

/** Names sorted as the pins are: by code unit, so `Z` before `a`. */
const sorted = (names: string[]): string[] => [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

describe('the public API', () => {
  const label = (subpath: string): string => `tsbuild${subpath.slice(1)}`;
  it.each(ENTRIES.map(([subpath, source, names]) => [label(subpath), source, names] as const))(
    '%s (%s) exports exactly its pinned names',
    async (_entry, source, names) => {
      const module = (await import(path.join(projectRoot, source))) as Record<string, unknown>;
      expect(sorted(Object.keys(module))).toEqual(sorted(names));
    },
  );

  it('package.json publishes exactly these entries, each from its source', () => {
    const pkg = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as {
      exports: Record<string, { types: string; import: string }>;
    };
    const published = Object.entries(pkg.exports).map(([subpath, target]) => [subpath, target.import, target.types]);
    const expected = ENTRIES.map(([subpath, source]) => {
      const built = `./${source.replace(/^src\//, 'dist/').replace(/\.ts$/, '')}`;
      return [subpath, `${built}.js`, `${built}.d.ts`];
    });
    expect(published).toEqual(expected);
  });

  it("README's API reference names every verb and error of the main entry, and every subpath", () => {
    const readme = readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
    const start = readme.indexOf('## API reference');
    const end = readme.indexOf('\n## ', start + 1);
    expect(start, 'README.md has an "## API reference" section').toBeGreaterThan(0);
    const section = readme.slice(start, end < 0 ? undefined : end);
    const named = new Set([...section.matchAll(/`([A-Za-z_][\w/]*)(?:\(|`)/g)].map((m) => m[1]));
    const missing = [...VERBS, ...ERRORS, ...ENTRIES.slice(1).map(([subpath]) => label(subpath))].filter((n) => !named.has(n));
    expect(missing, 'names the README does not mention in `backticks`').toEqual([]);
  });
});
