// Build scenarios: cold build of a multi-stage Dockerfile, no-op rebuild, and a rebuild after one
// context file changed. Offline (FROM scratch), so they need no registry; needs root (snapshots).
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from '../dist/index.js';

const runs = Number(process.env.BENCH_RUNS ?? 3);

function makeContext(dir) {
  for (let i = 0; i < 500; i++) {
    const sub = path.join(dir, 'src', `pkg${i % 20}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(path.join(sub, `file${i}.js`), randomBytes(4096).toString('base64'));
  }
  writeFileSync(path.join(dir, 'config.json'), '{"version": 1}\n');
  writeFileSync(path.join(dir, 'Dockerfile'), [
    'FROM scratch AS deps',
    'COPY src/pkg1* /deps/',
    'FROM scratch AS app',
    'COPY src /app/src',
    'FROM scratch',
    'COPY --from=deps /deps /deps',
    'COPY --from=app /app /app',
    'COPY config.json /app/',
    'WORKDIR /app',
  ].join('\n'));
}

async function timed(fn) {
  const start = process.hrtime.bigint();
  const result = await fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, result };
}

export async function benchBuild() {
  const cold = [];
  const noop = [];
  const oneFile = [];
  for (let r = 0; r < runs; r++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-bench-build-'));
    try {
      const context = path.join(dir, 'ctx');
      mkdirSync(context);
      makeContext(context);
      const request = { context, root: path.join(dir, 'root'), tags: ['bench:latest'] };
      cold.push((await timed(() => build(request))).ms);
      const again = await timed(() => build(request));
      if (again.result.ran !== 0) throw new Error('no-op rebuild ran steps');
      noop.push(again.ms);
      writeFileSync(path.join(context, 'config.json'), '{"version": 2}\n');
      oneFile.push((await timed(() => build(request))).ms);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { scenario: 'build: 3-stage Dockerfile, 500-file context', runs, coldMs: median(cold), noopMs: median(noop), oneFileChangedMs: median(oneFile) };
}
