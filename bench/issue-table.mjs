// The performance issue's (17) table, filled from one `npm run bench`: each of its scenarios with
// tsbuild's, BuildKit's and buildah's medians from the same run, the ratio tsbuild / BuildKit and
// the issue's goal for it, so a run says at a glance which goals are met. The rows come from the
// edit loop (bench/edit-loop.mjs), the registry bench (its `parallel` and `export` scenarios) and
// the 20,000-file build (bench/build.mjs); a scenario the run skipped is left out. Where the run
// timed the scenario's containers in runc alone (bench/floors.mjs), the row also gives that floor
// and says when the goal lies under it: then no builder running that RUN in runc here can meet it.

/** The builder of `builders` (a result's name → times map) whose name starts with `prefix`. */
const pick = (builders, prefix) => Object.entries(builders ?? {}).find(([name]) => name.startsWith(prefix))?.[1];

/** Rows { scenario, tsbuild, buildKit, buildah, goal, floor } (milliseconds, undefined where not measured). */
export function issueTable(results) {
  const rows = [];
  const add = (scenario, builders, key, goal, floor) => {
    const ms = (prefix) => pick(builders, prefix)?.[key]?.medianMs;
    // tsbuild as the command where a scenario also times it as a library call.
    const tsbuild = ms('tsbuild (command)') ?? ms('tsbuild');
    if (tsbuild === undefined) return;
    rows.push({ scenario, tsbuild, buildKit: ms('BuildKit'), buildah: ms('buildah'), goal, floor });
  };
  const edit = results.find((r) => r.scenario.startsWith('edit loop'));
  if (edit) {
    add(`one file of the context changed, rebuild (median of ${edit.runs})`, edit.builders, 'oneFileChanged', 0.5);
    add(`cold build, base image already pulled (median of ${edit.runs})`, edit.builders, 'cold', 0.8);
    add(`no-op rebuild (median of ${edit.runs})`, edit.builders, 'noop', 0.5);
  }
  const registry = results.find((r) => r.scenario.startsWith('registry'));
  const floors = results.find((r) => r.scenario === 'floors');
  if (registry) {
    const parallel = `four parallel \`sleep 2\` stages, --no-cache (median of ${registry.runs})`;
    add(parallel, registry.builders, 'parallel', 1.0, floors?.runcFourSleep2?.medianMs);
    const exported = `RUN writing ${(registry.exportMiB / 1024).toFixed(1)} GiB, --no-cache (median of ${registry.runs})`;
    add(exported, registry.builders, 'export', 0.8, registry.exportFloor?.medianMs);
  }
  const big = results.find((r) => r.scenario.startsWith('build:') && r.scenario.includes('20000-file'));
  if (big) add(`one file changed in a 20,000-file context (median of ${big.runs})`, big.builders, 'oneFileChanged', undefined);
  return rows;
}

const seconds = (ms) => (ms === undefined ? '—' : ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`);

/** The rows as a Markdown table, the issue's shape, with whether each goal is met. */
export function formatIssueTable(rows) {
  const lines = [
    '| scenario | tsbuild | BuildKit | buildah | ratio tsbuild/BuildKit | runc alone (floor) | floor/BuildKit | goal |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const row of rows) {
    const ratio = row.buildKit === undefined ? undefined : row.tsbuild / row.buildKit;
    const floorRatio = row.buildKit === undefined || row.floor === undefined ? undefined : row.floor / row.buildKit;
    const verdict =
      ratio === undefined
        ? ''
        : ratio <= row.goal
          ? ' (met)'
          : floorRatio !== undefined && floorRatio > row.goal
            ? ' (not met; below the floor)'
            : ' (not met)';
    const goal = row.goal === undefined ? '—' : `at most ${row.goal.toFixed(1)}x${verdict}`;
    const x = (r) => (r === undefined ? '—' : `${r.toFixed(2)}x`);
    lines.push(
      `| ${row.scenario} | ${seconds(row.tsbuild)} | ${seconds(row.buildKit)} | ${seconds(row.buildah)} | ${x(ratio)} | ${seconds(row.floor)} | ${x(floorRatio)} | ${goal} |`,
    );
  }
  return lines.join('\n');
}
