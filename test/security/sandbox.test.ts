/**
 * RUN's sandbox end to end (issue 15), through real builds: a step's own network namespace (no way
 * to the host's loopback; the outside world reachable), `--network=none|host`, the entitlements a
 * Dockerfile cannot take by itself, seccomp as the process sees it, and `--add-host`, `--shm-size`
 * and `--ulimit` inside the step. A Debian base (made by mmdebstrap from Debian's mirror) runs
 * `apt-get update && apt-get install -y hello` on the default network.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalContentStore } from '../../src/content/local-store.js';
import { parseDigest } from '../../src/digest/digest.js';
import type { Manifest } from '../../src/image/oci-types.js';
import { build, type BuildRequest } from '../../src/verbs/build.js';
import { testRequest } from '../helpers/build.js';
import { tsbuild } from '../helpers/cli.js';
import { layerFile } from '../helpers/layers.js';
import { writeImageLayout } from '../helpers/oci-image.js';
import { registryAvailable, skopeoPush, useBusyboxRegistry } from '../helpers/registry.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-sandbox-');
const busybox = useBusyboxRegistry(isRoot && registryAvailable);
const slirp = spawnSync('slirp4netns', ['--version']).status === 0;

/** A server on the host's loopback that a step must not reach. */
let server: http.Server | undefined;
let port = 0;
beforeAll(async () => {
  server = http.createServer((_req, res) => res.end('HOST LOOPBACK SECRET\n'));
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** Builds `lines` on busybox; resolves to the files the last layer wrote (by name). */
async function run(lines: string[], extra: Partial<BuildRequest> = {}): Promise<(name: string) => Promise<string | undefined>> {
  const context = tempDir();
  const root = tempDir();
  writeFileSync(path.join(context, 'Dockerfile'), [`FROM ${busybox.registry().host}/busybox:1`, ...lines].join('\n'));
  const { digest } = await build(testRequest({ context, root }, tempDir, extra));
  const store = new LocalContentStore(root);
  const manifest = JSON.parse((await store.readBytes(parseDigest(digest))).toString()) as Manifest;
  return (name) => layerFile(store, (manifest.layers.at(-1) as { digest: string }).digest, name);
}

describe.skipIf(!isRoot || !registryAvailable || !slirp)('RUN networks', () => {
  it("default: the step cannot reach the host's loopback; --network=host can", async () => {
    const probe = `RUN (timeout 5 wget -q -O - http://127.0.0.1:${port}/ 2>/dev/null || echo unreachable) > /out`;
    const isolated = await run([probe]);
    expect(await isolated('out')).toBe('unreachable\n');
    const host = await run([probe], { network: 'host' });
    expect(await host('out')).toBe('HOST LOOPBACK SECRET\n');
  });

  it('--network=none and RUN --network=none see only the loopback interface', async () => {
    const interfaces = "RUN tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' > /out";
    expect(await (await run([interfaces], { network: 'none' }))('out')).toBe('lo\n');
    expect(await (await run([interfaces.replace('RUN', 'RUN --network=none')]))('out')).toBe('lo\n');
    // The default network has its own interface besides: the user-mode network's.
    expect(await (await run([interfaces]))('out')).toBe('lo\neth0\n');
  });

  it('RUN --network=host and RUN --security=insecure need --allow: one line naming the flag, nothing run', () => {
    const cases: Array<[string, string[], string]> = [
      ['RUN --network=host true', [], 'error: Dockerfile:2: network.host is not allowed\ngrant it with --allow network.host\n'],
      ['RUN --security=insecure true', [], 'error: Dockerfile:2: security.insecure is not allowed\ngrant it with --allow security.insecure\n'],
      ['RUN true', ['--allow', 'bogus'], 'error: unknown entitlement bogus\nuse network.host or security.insecure\n'],
      ['RUN true', ['--network', 'bridge'], 'error: invalid --network "bridge"\nuse default, none or host\n'],
    ];
    for (const [line, flags, stderr] of cases) {
      const context = tempDir();
      writeFileSync(path.join(context, 'Dockerfile'), `FROM ${busybox.registry().host}/busybox:1\n${line}\n`);
      const env = { TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() };
      const result = tsbuild(['--root', tempDir(), 'build', '-q', ...flags, '.'], { env, cwd: context, timeout: 60_000 });
      expect([line, result.status, result.stderr]).toEqual([line, 1, stderr]);
    }
  });

  it('RUN --network=host runs with --allow network.host, and the CLI’s --network=host grants it', () => {
    const context = tempDir();
    writeFileSync(path.join(context, 'Dockerfile'), `FROM ${busybox.registry().host}/busybox:1\nRUN --network=host true\n`);
    const env = { TSBUILD_REGISTRIES_CONFIG: '/nonexistent/registries.json', DOCKER_CONFIG: tempDir() };
    expect(tsbuild(['--root', tempDir(), 'build', '-q', '--allow', 'network.host', context], { env, timeout: 60_000 }).status).toBe(0);
    expect(tsbuild(['--root', tempDir(), 'build', '-q', '--network', 'host', context], { env, timeout: 60_000 }).status).toBe(0);
  });
});

describe.skipIf(!isRoot || !registryAvailable || !slirp)('RUN sandbox limits and files', () => {
  it('seccomp is on (Seccomp: 2) and a call Docker’s profile blocks fails with EPERM', async () => {
    const file = await run(['RUN grep -E "^Seccomp:" /proc/self/status > /seccomp && (unshare -U true 2> /unshare || true)']);
    expect(await file('seccomp')).toBe('Seccomp:\t2\n');
    expect(await file('unshare')).toMatch(/Operation not permitted/);
  });

  it('--add-host, --shm-size and --ulimit show inside the step', async () => {
    const file = await run(
      [
        'RUN tail -n 2 /etc/hosts > /hosts && grep " /dev/shm " /proc/mounts | grep -o "size=[0-9]*k" > /shm && ulimit -n > /nofile && ulimit -Hn >> /nofile',
      ],
      {
        addHosts: [
          { name: 'db.internal', address: '10.1.2.3' },
          { name: 'v6.internal', address: 'fd00::1' },
        ],
        shmSize: 128 * 1024 * 1024,
        ulimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 }],
      },
    );
    expect([await file('hosts'), await file('shm'), await file('nofile')]).toEqual([
      '10.1.2.3\tdb.internal\nfd00::1\tv6.internal\n',
      'size=131072k\n',
      '1024\n2048\n',
    ]);
  });
});

const mmdebstrap = spawnSync('mmdebstrap', ['--version']).status === 0;
describe.skipIf(!isRoot || !registryAvailable || !slirp || !mmdebstrap)('a Debian base on the default network', () => {
  it('runs apt-get update && apt-get install -y hello (Debian’s mirror through the user-mode network)', async () => {
    const work = tempDir();
    const tar = path.join(work, 'rootfs.tar');
    const mirror = debianMirror();
    execFileSync('mmdebstrap', ['--quiet', '--variant=apt', '--format=tar', 'bookworm', tar, mirror], { stdio: 'ignore', timeout: 300_000 });
    const raw = readFileSync(tar);
    const layer = { gz: gzipSync(raw, { level: 1 }), diffId: `sha256:${createHash('sha256').update(raw).digest('hex')}` };
    const layout = path.join(work, 'layout');
    writeImageLayout(layout, 'bookworm', [layer], { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['bash'] });
    await skopeoPush(layout, 'bookworm', `${busybox.registry().host}/debian:bookworm`);
    const context = tempDir();
    writeFileSync(
      path.join(context, 'Dockerfile'),
      `FROM ${busybox.registry().host}/debian:bookworm\nRUN apt-get update && apt-get install -y --no-install-recommends hello && hello > /greeting\n`,
    );
    const root = tempDir();
    const { digest } = await build(testRequest({ context, root }, tempDir));
    const store = new LocalContentStore(root);
    const manifest = JSON.parse((await store.readBytes(parseDigest(digest))).toString()) as Manifest;
    expect(await layerFile(store, (manifest.layers.at(-1) as { digest: string }).digest, 'greeting')).toBe('Hello, world!\n');
  }, 600_000);
});

/** The Debian mirror this machine's apt uses (the one CI reaches). */
function debianMirror(): string {
  const sources = '/etc/apt/sources.list.d/debian.sources';
  const text = existsSync(sources) ? readFileSync(sources, 'utf8') : readFileSync('/etc/apt/sources.list', 'utf8');
  return /^URIs:\s*(\S+)/m.exec(text)?.[1] ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/m.exec(text)?.[1] ?? 'http://deb.debian.org/debian';
}
