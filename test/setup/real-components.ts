/**
 * Under `CI=true`, the real components the suites drive must all be present: a suite that would
 * `skipIf` a missing tool on a developer's machine fails the whole run in CI instead, so a CI
 * machine that failed to install something never stays green by skipping what needed it.
 * (vitest `globalSetup`: runs once before any test file.)
 */
import { spawnSync } from 'node:child_process';
import { referenceHost } from '../helpers/buildkit.js';

/** Commands the real-component suites run, with the Debian package that brings each. */
export const REAL_COMPONENTS: ReadonlyArray<readonly [command: string, pkg: string]> = [
  ['runc', 'runc'],
  ['docker-registry', 'docker-registry'],
  ['skopeo', 'skopeo'],
  ['umoci', 'umoci'],
  ['busybox', 'busybox-static'],
  ['slirp4netns', 'slirp4netns'],
  ['pasta', 'passt'],
  ['unshare', 'util-linux'],
  ['nsenter', 'util-linux'],
  ['ip', 'iproute2'],
  ['mmdebstrap', 'mmdebstrap'],
  ['gcc', 'gcc'],
  ['docker', 'docker.io'],
  ['zstd', 'zstd'],
  ['getfattr', 'attr'],
  ['setfattr', 'attr'],
  ['newuidmap', 'uidmap'],
  ['newgidmap', 'uidmap'],
  ['fuse-overlayfs', 'fuse-overlayfs'],
  ['git', 'git'],
  ['htpasswd', 'apache2-utils'],
  ['openssl', 'openssl'],
];

/** What is missing from `PATH` (and root, and the reference BuildKit), one phrase each. */
export function missingComponents(env: NodeJS.ProcessEnv = process.env, checkReference = true): string[] {
  const missing = REAL_COMPONENTS.filter(([command]) => spawnSync('sh', ['-c', `command -v ${command}`], { env, stdio: 'ignore' }).status !== 0).map(
    ([command, pkg]) => `${command} (apt-get install ${pkg})`,
  );
  if (process.getuid?.() !== 0) missing.push('root (the RUN, snapshot and registry suites need it)');
  if (checkReference) {
    const reference = referenceHost();
    if (!reference.host) missing.push(`current BuildKit (../shared/tools/modern-buildkit.sh): ${reference.reason ?? 'not running'}`);
  }
  return missing;
}

export default function setup(): void {
  if (process.env.CI !== 'true') return;
  const missing = missingComponents();
  if (missing.length > 0) throw new Error(`CI=true and real components are missing, so suites would be skipped: ${missing.join('; ')}`);
}
