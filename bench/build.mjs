// Build scenarios: cold build of a multi-stage Dockerfile, no-op rebuild, and a rebuild after one
// context file changed; offline (FROM scratch), so no registry is involved. tsbuild is timed as a
// command (`bin/tsbuild.js build`, as users run it, Node's start-up included) and, for
// reference, as a library call; BuildKit and buildah as commands, where installed.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeSources } from './sources.mjs';
import { build } from '../dist/index.js';
import { startBuildah, startBuildKit } from './peers.mjs';
import { LIKE_THE_PEERS, tsbuildCommand } from './command.mjs';
import { benchTemp } from './scratch.mjs';

const runs = Number(process.env.BENCH_RUNS ?? 3);

export function makeContext(dir, files = 500) {
  writeSources(dir, files);
  writeFileSync(path.join(dir, 'config.json'), '{"version": 1}\n');
  writeFileSync(
    path.join(dir, 'Dockerfile'),
    [
      'FROM scratch AS deps',
      'COPY src/pkg1* /deps/',
      'FROM scratch AS app',
      'COPY src /app/src',
      'FROM scratch',
      'COPY --from=deps /deps /deps',
      'COPY --from=app /app /app',
      'COPY config.json /app/',
      'WORKDIR /app',
    ].join('\n'),
  );
}

function timeMs(fn) {
  const start = process.hrtime.bigint();
  const result = fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, result };
}

async function timeAsync(fn) {
  const start = process.hrtime.bigint();
  const result = await fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, result };
}

const stats = (xs) => ({ minMs: Math.min(...xs), medianMs: [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] });

/**
 * Runs cold / no-op / one-file-changed `runs` times with `builder` (build(context), reset()) on a
 * context of `files` files; the changed file is `changed` (relative to the context).
 */
async function scenario(builder, { files, changed, runs }) {
  const cold = [];
  const noop = [];
  const oneFile = [];
  for (let r = 0; r < runs; r++) {
    const dir = benchTemp('tsbuild-bench-build-');
    try {
      const context = path.join(dir, 'ctx');
      mkdirSync(context);
      makeContext(context, files);
      await builder.reset(dir);
      cold.push((await timeAsync(() => builder.build(context))).ms);
      noop.push((await timeAsync(() => builder.build(context))).ms);
      writeFileSync(path.join(context, changed), '{"version": 2}\n');
      oneFile.push((await timeAsync(() => builder.build(context))).ms);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { cold: stats(cold), noop: stats(noop), oneFileChanged: stats(oneFile) };
}

/**
 * The build scenario over `files` context files. The default changes `config.json` (read by the
 * last step only); `changed: 'src/pkg0/file0.js'` changes a file of the big `COPY src`, which the
 * steps after it must redo (the "one file changed in a 20,000-file context").
 */
export async function benchBuild({ files = 500, changed = 'config.json', runs: count = runs } = {}) {
  const options = { files, changed, runs: count };
  const builders = {};
  let root;
  builders['tsbuild (command)'] = await scenario(
    {
      reset: (dir) => (root = path.join(dir, 'root')),
      build: (context) =>
        timeMs(() =>
          execFileSync(tsbuildCommand(), ['--root', root, 'build', '-q', ...LIKE_THE_PEERS, '-t', 'bench:latest', context], {
            stdio: ['ignore', 'pipe', 'pipe'],
          }),
        ).result,
    },
    options,
  );
  builders['tsbuild (library call)'] = await scenario(
    {
      reset: (dir) => (root = path.join(dir, 'root-lib')),
      build: (context) => build({ context, root, tags: ['bench:latest'] }),
    },
    options,
  );
  for (const start of [startBuildKit, startBuildah]) {
    const peer = await start();
    if (!peer) continue;
    try {
      builders[peer.name] = await scenario({ reset: () => peer.reset(), build: (context) => peer.build(context, 'bench:latest') }, options);
    } finally {
      await peer.stop();
    }
  }
  return { scenario: `build: 3-stage Dockerfile, ${files}-file context, ${changed} changed`, runs: count, builders };
}
