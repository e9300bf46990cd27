// `npm run bench`: runs each scenario, prints its numbers, and records them in bench/results/
// with a description of the machine. Peers (BuildKit, buildah) are timed beside tsbuild where a
// scenario has a peer equivalent and they are installed.
import { writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { benchContext } from './context.mjs';
import { benchBuild } from './build.mjs';
import { benchDiffer } from './differ.mjs';
import { benchFloors } from './floors.mjs';
import { benchRegistry } from './registry.mjs';
import { benchNetwork, formatNetwork } from './network.mjs';
import { benchSeccomp } from './seccomp.mjs';
import { benchMultiPlatform, formatMultiPlatform } from './multiplatform.mjs';
import { benchRootless, formatRootless } from './rootless.mjs';
import { benchEditLoop, formatEditLoop } from './edit-loop.mjs';
import { formatIssueTable, issueTable } from './issue-table.mjs';

const machine = {
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  kernel: os.release(),
  node: process.version,
};
const results = [];
const context = await benchContext();
results.push(context);
console.log(
  `${context.scenario}: first pass median ${context.cold.medianMs.toFixed(0)} ms (min ${context.cold.minMs.toFixed(0)}), unchanged second pass median ${context.warm.medianMs.toFixed(0)} ms (min ${context.warm.minMs.toFixed(0)})`,
);
const floors = await benchFloors();
results.push(floors);
console.log(
  `floors: node -e 0 median ${floors.nodeStartup.medianMs.toFixed(0)} ms (${floors.nodeStartupWithoutExtraCa.medianMs.toFixed(0)} ms without the NODE_EXTRA_CA_CERTS bundle)${floors.runcFourSleep2 ? `; runc alone: one container ${floors.runcTrue.medianMs.toFixed(0)} ms, four sleep-2 containers at once ${(floors.runcFourSleep2.medianMs / 1000).toFixed(2)} s` : ''}`,
);
if (process.getuid?.() !== 0) {
  console.error('bench: the scenarios need root (overlay mounts, runc); skipping');
} else {
  const sc = await benchSeccomp();
  results.push(sc);
  console.log(
    `${sc.scenario} (${sc.runs} runs): wall ${sc.withFilter.wallMedianMs.toFixed(0)} ms with the filter, ${sc.withoutFilter.wallMedianMs.toFixed(0)} ms without; CPU ${sc.withFilter.cpuMeanMs.toFixed(0)} ms and ${sc.withoutFilter.cpuMeanMs.toFixed(0)} ms`,
  );
  const net = await benchNetwork();
  results.push(net);
  console.log(formatNetwork(net));
  const rl = await benchRootless();
  results.push(rl);
  console.log(formatRootless(rl));
  // The 500-file case three times; one file of a 20,000-file COPY changed, once (BENCH_BIG_FILES=0 skips it).
  const big = Number(process.env.BENCH_BIG_FILES ?? 20000);
  const builds = [{}, ...(big > 0 ? [{ files: big, changed: 'src/pkg0/file0.js', runs: 1 }] : [])];
  for (const options of builds) {
    const b = await benchBuild(options);
    results.push(b);
    console.log(`${b.scenario} (medians of ${b.runs}; ratio = peer / tsbuild command):`);
    const ours = b.builders['tsbuild (command)'];
    for (const [name, t] of Object.entries(b.builders)) {
      const ratio = (key) => (name.startsWith('tsbuild') ? '' : ` (${(t[key].medianMs / ours[key].medianMs).toFixed(1)}x)`);
      console.log(
        `  ${name.padEnd(26)} cold ${t.cold.medianMs.toFixed(0)} ms${ratio('cold')}, no-op ${t.noop.medianMs.toFixed(0)} ms${ratio('noop')}, one file changed ${t.oneFileChanged.medianMs.toFixed(0)} ms${ratio('oneFileChanged')}`,
      );
    }
  }
  // The performance issue's edit-rebuild loop, the three builders interleaved (BENCH_EDIT_RUNS rounds, 5).
  const edit = await benchEditLoop();
  results.push(edit);
  console.log(formatEditLoop(edit));
  const mp = await benchMultiPlatform();
  results.push(mp);
  console.log(formatMultiPlatform(mp));
  const g = await benchRegistry();
  results.push(g);
  console.log(`${g.scenario} (medians of ${g.runs}; ratio = peer / tsbuild; the export RUN writes ${g.exportMiB} MiB):`);
  const base = g.builders.tsbuild;
  for (const [name, row] of Object.entries(g.builders)) {
    const cells = Object.entries(row)
      .filter(([k]) => k !== 'times')
      .map(([k, t]) => `${k} ${(t.medianMs / 1000).toFixed(2)} s${name === 'tsbuild' ? '' : ` (${(t.medianMs / base[k].medianMs).toFixed(2)}x)`}`);
    console.log(`  ${name.padEnd(32)} ${cells.join(', ')}`);
  }
  console.log(
    `  tsbuild peak RSS (GNU time, the tsbuild process): export ${g.tsbuildPeakRssMiB.export.toFixed(0)} MiB, context ${g.tsbuildPeakRssMiB.context.toFixed(0)} MiB, parallel ${g.tsbuildPeakRssMiB.parallel.toFixed(0)} MiB`,
  );
  const r = await benchDiffer();
  results.push(r);
  console.log(
    `${r.scenario}: median ${r.medianSeconds.toFixed(2)} s (min ${r.minSeconds.toFixed(2)} s) = ${r.throughputMiBps.toFixed(0)} MiB/s, layer ${r.compressedMiB.toFixed(0)} MiB (bench process peak RSS ${r.peakRssMiB.toFixed(0)} MiB, all scenarios so far)`,
  );
  console.log(
    '  single-stream gzip baseline (before parallel gzip): 46 MiB/s median on this machine (bench/results/2026-11-24-before-parallel-gzip.json)',
  );
  console.log(
    `  converted to zstd (compression=zstd): median ${r.zstdConversion.medianSeconds.toFixed(2)} s = ${r.zstdConversion.throughputMiBps.toFixed(0)} MiB/s of tar, layer ${r.zstdConversion.compressedMiB.toFixed(0)} MiB`,
  );
}
// The performance issue's table from this run's numbers (recorded beside them).
const table = issueTable(results);
if (table.length > 0) console.log(`issue 17's scenarios (medians; goal: ratio tsbuild / BuildKit):\n${formatIssueTable(table)}`);
mkdirSync('bench/results', { recursive: true });
const file = `bench/results/${new Date().toISOString().slice(0, 16).replace(/:/g, '')}.json`;
writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), machine, results, issueTable: table }, null, 2)}\n`);
console.log(`recorded in ${file}`);
