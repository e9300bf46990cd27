// Context checksums: a 2,000-file, 50 MB context, first pass (cold stat cache: every file read and
// hashed) and an unchanged second pass in a fresh cache object loaded from disk (one lstat per file).
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { contextTree, loadBuildContext } from '../dist/context/build-context.js';
import { ChecksumCache, checksumSources } from '../dist/fileops/checksum.js';

const FILES = 2000;
const TOTAL_BYTES = 50 * 1024 * 1024;
const runs = Number(process.env.BENCH_RUNS ?? 3);

export async function benchContext() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-bench-ctx-'));
  try {
    const root = path.join(dir, 'context');
    const per = Math.floor(TOTAL_BYTES / FILES);
    for (let i = 0; i < FILES; i++) {
      const sub = path.join(root, `dir${i % 40}`, `sub${i % 7}`);
      mkdirSync(sub, { recursive: true });
      writeFileSync(path.join(sub, `file${i}.dat`), randomBytes(per));
    }
    const tree = contextTree(await loadBuildContext(root));
    const cold = [];
    const warm = [];
    let digest;
    for (let r = 0; r < runs; r++) {
      const state = path.join(dir, `state-${r}`);
      let t = process.hrtime.bigint();
      const first = await ChecksumCache.for(state, root).load();
      digest = await checksumSources(tree, ['.'], { cache: first });
      await first.save();
      cold.push(Number(process.hrtime.bigint() - t) / 1e6);
      t = process.hrtime.bigint();
      const second = await ChecksumCache.for(state, root).load();
      const again = await checksumSources(tree, ['.'], { cache: second });
      warm.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (again !== digest || second.hashed !== 0) throw new Error('warm pass disagreed with the cold one');
    }
    const stats = (xs) => ({ minMs: Math.min(...xs), medianMs: [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] });
    return { scenario: `context checksum: ${FILES} files, 50 MB`, runs, cold: stats(cold), warm: stats(warm) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
