/**
 * Debian's static busybox for arm64, for RUN steps under QEMU: the .deb of the same version as the
 * installed amd64 `busybox-static`, fetched once from Debian's mirror into a cache directory the
 * test files share (`$TMPDIR/tsbuild-test-cache`) and unpacked with dpkg-deb.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const CACHE = path.join(os.tmpdir(), 'tsbuild-test-cache');

/** The path of the arm64 busybox binary, downloading it when the cache lacks it. */
export async function arm64Busybox(): Promise<string> {
  const version = execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'busybox-static'], { encoding: 'utf8' }).replace(/^\d+:/, '');
  const dir = path.join(CACHE, `busybox-static_${version}_arm64`);
  const binary = path.join(dir, 'bin', 'busybox');
  if (existsSync(binary)) return binary;
  mkdirSync(CACHE, { recursive: true });
  const url = `http://deb.debian.org/debian/pool/main/b/busybox/busybox-static_${version}_arm64.deb`;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  // Unpacked beside the cache entry and renamed into place: concurrent test files never see half of it.
  const work = mkdtempSync(path.join(CACHE, '.busybox-'));
  try {
    const deb = path.join(work, 'busybox.deb');
    writeFileSync(deb, Buffer.from(await response.arrayBuffer()));
    execFileSync('dpkg-deb', ['-x', deb, path.join(work, 'root')]);
    try {
      renameSync(path.join(work, 'root'), dir);
    } catch (err) {
      if (!existsSync(binary)) throw err; // another test file got there first
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return binary;
}
