/**
 * A real distribution registry (Debian's `docker-registry`) on 127.0.0.1 and a free port, with
 * optional htpasswd or token auth. `stop()` kills it and removes its storage.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { writeBusyboxLayout } from './oci-image.js';
import { freePort } from './ports.js';

export interface TestRegistry {
  /** `127.0.0.1:<port>` */
  host: string;
  port: number;
  stop(): Promise<void>;
}

export interface RegistryAuth {
  htpasswd?: { user: string; password: string };
  token?: { realm: string; service: string; issuer: string; certFile: string };
}

const execFileAsync = promisify(execFile);

export const registryAvailable = existsSync('/usr/bin/docker-registry') && existsSync('/usr/bin/skopeo');

export async function startRegistry(auth: RegistryAuth = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-registry-'));
  const port = await freePort();
  let authBlock = '';
  if (auth.htpasswd) {
    const file = path.join(dir, 'htpasswd');
    execFileSync('htpasswd', ['-Bbc', file, auth.htpasswd.user, auth.htpasswd.password], { stdio: 'ignore' });
    authBlock = `auth:\n  htpasswd:\n    realm: tsbuild-test\n    path: ${file}\n`;
  } else if (auth.token) {
    const t = auth.token;
    authBlock = `auth:\n  token:\n    realm: ${t.realm}\n    service: ${t.service}\n    issuer: ${t.issuer}\n    rootcertbundle: ${t.certFile}\n`;
  }
  const config = path.join(dir, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${authBlock}`,
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/v2/`);
      if (response.status === 200 || response.status === 401) break;
    } catch {
      // not up yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not start: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { host: `127.0.0.1:${port}`, port, stop };
}

/**
 * Pushes an OCI layout's tag with skopeo (the independent writer). Asynchronous: a token server
 * may be running in this very process and must keep answering while skopeo waits on it.
 */
export async function skopeoPush(
  layoutDir: string,
  tag: string,
  destination: string,
  options: { all?: boolean; creds?: string; format?: 'oci' | 'v2s2' } = {},
): Promise<void> {
  await execFileAsync('skopeo', [
    'copy',
    '--quiet',
    '--dest-tls-verify=false',
    ...(options.all ? ['--all'] : []),
    ...(options.creds ? ['--dest-creds', options.creds] : []),
    ...(options.format ? ['--format', options.format] : []),
    `oci:${layoutDir}:${tag}`,
    `docker://${destination}`,
  ]);
}

/**
 * A registry started once for a test file with busybox (from Debian's static binary) pushed as
 * `<host>/busybox:1`; `layouts` holds the OCI layout it came from (`bb`, tag `1`). Started only
 * when `enabled`; stopped and removed after the file's tests.
 */
export function useBusyboxRegistry(enabled: boolean): { registry: () => TestRegistry; layouts: () => string } {
  let registry: TestRegistry | undefined;
  let layouts: string | undefined;
  beforeAll(async () => {
    if (!enabled) return;
    layouts = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-busybox-layouts-'));
    await writeBusyboxLayout(path.join(layouts, 'bb'), '1', ['linux/amd64']);
    registry = await startRegistry();
    await skopeoPush(path.join(layouts, 'bb'), '1', `${registry.host}/busybox:1`);
  }, 60_000);
  afterAll(async () => {
    await registry?.stop();
    if (layouts) rmSync(layouts, { recursive: true, force: true });
  });
  return { registry: () => registry as TestRegistry, layouts: () => layouts as string };
}
