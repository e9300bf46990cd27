// Differ throughput: a RUN-sized change of BENCH_DIFF_MB (default 1024) MiB in an overlay upper
// dir, written as a gzipped layer (tar -> sha256 -> gzip -> content store) in one pass; then that
// layer converted to zstd as `compression=zstd` does (gunzip -> zstd command -> counted).
// Needs root (overlay mounts). Prints one JSON line per run and a summary.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { layerCompressor, layerDecompressor } from '../dist/archive/compression.js';
import { LocalContentStore } from '../dist/content/local-store.js';
import { MountDiffer } from '../dist/diff/differ.js';
import { withMounted } from '../dist/runtime/mount.js';
import { OverlaySnapshotter } from '../dist/snapshot/overlay.js';

const totalMiB = Number(process.env.BENCH_DIFF_MB ?? 1024);
const runs = Number(process.env.BENCH_RUNS ?? 3);
const fileMiB = 16;

export async function benchDiffer() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-bench-diff-'));
  try {
    const snaps = new OverlaySnapshotter(root);
    await snaps.prepare('base-x');
    await snaps.commit('base', 'base-x');
    const mounts = await snaps.prepare('run', 'base');
    const mnt = path.join(root, 'mnt');
    mkdirSync(mnt);
    // Half random, half repetitive text: layers are usually partly compressible.
    const text = Buffer.from('the quick brown fox jumps over the lazy dog 0123456789\n'.repeat(9710)).subarray(0, 512 * 1024);
    await withMounted(mounts, mnt, async () => {
      for (let i = 0; i < totalMiB / fileMiB; i++) {
        const chunks = [];
        for (let j = 0; j < fileMiB; j++) chunks.push(randomBytes(512 * 1024), text);
        writeFileSync(path.join(mnt, `file-${i}`), Buffer.concat(chunks));
      }
    });
    const results = [];
    const zstd = [];
    for (let r = 0; r < runs; r++) {
      const store = new LocalContentStore(path.join(root, `store-${r}`));
      const start = process.hrtime.bigint();
      // The whole differ: the upper dir's walk (64 files), its xattrs, the tar, gzip and the store.
      const layer = await new MountDiffer(store, root).diff(mounts, async () => []);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      results.push({ seconds, compressedMiB: layer.descriptor.size / 2 ** 20 });
      let bytes = 0;
      const converting = process.hrtime.bigint();
      await pipeline(
        await store.reader(layer.descriptor.digest),
        layerDecompressor('gzip'),
        layerCompressor('zstd'),
        new Writable({ write: (chunk, _enc, done) => ((bytes += chunk.length), done()) }),
      );
      zstd.push({ seconds: Number(process.hrtime.bigint() - converting) / 1e9, compressedMiB: bytes / 2 ** 20 });
      rmSync(path.join(root, `store-${r}`), { recursive: true, force: true });
    }
    const times = results.map((r) => r.seconds).sort((a, b) => a - b);
    const zstdTimes = zstd.map((r) => r.seconds).sort((a, b) => a - b);
    return {
      scenario: `differ: ${totalMiB} MiB change -> gzipped layer`,
      runs,
      minSeconds: times[0],
      medianSeconds: times[Math.floor(times.length / 2)],
      throughputMiBps: totalMiB / times[Math.floor(times.length / 2)],
      compressedMiB: results[0].compressedMiB,
      zstdConversion: {
        medianSeconds: zstdTimes[Math.floor(zstdTimes.length / 2)],
        throughputMiBps: totalMiB / zstdTimes[Math.floor(zstdTimes.length / 2)],
        compressedMiB: zstd[0].compressedMiB,
      },
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    try {
      execFileSync('umount', ['-R', path.join(root, 'mnt')], { stdio: 'ignore' });
    } catch {
      // nothing was mounted
    }
    rmSync(root, { recursive: true, force: true });
  }
}
