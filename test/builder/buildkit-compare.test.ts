/**
 * tsbuild against current BuildKit (Docker Engine 28 + buildx, `test/helpers/buildkit.ts`): every
 * case of the corpus (`compare-cases.ts`, one directory each under
 * `fixtures/dockerfiles/compare/`) is built by both from the same bases in a local registry, and
 * the images are compared: config, history, layer count and the flattened file tree (type, mode,
 * owner, size, content digest, link target, device numbers, xattr names, hard-link groups, and
 * mtimes where the inputs define them), the config JSON's keys as written, and the `created` times
 * where a case fixes them with SOURCE_DATE_EPOCH. Cases run a few at a time. A case that differs on purpose
 * until a fix lands is declared with `differs` and runs as `it.fails`, so it turns red the moment
 * the two agree. `docs/compatibility.md` lists the cases.
 */
import { cpSync, lstatSync, lutimesSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../src/verbs/build.js';
import { parseOutput } from '../../src/export/output-spec.js';
import { referenceBuilder } from '../helpers/buildkit.js';
import { CONTEXT_TIME, INPUTS_BEFORE, modernHealthcheck, startCompareFixtures, type CompareFixtures } from '../helpers/compare-fixtures.js';
import { COMPARE_CASES } from '../helpers/compare-cases.js';
import { describeImageArchive } from '../helpers/image-tree.js';
import { registryAvailable } from '../helpers/registry.js';
import { fixturePath } from '../helpers/shared.js';

const reference = registryAvailable ? referenceBuilder() : { reason: 'docker-registry or skopeo missing' };
const ready = reference.builder !== undefined;
if (!ready && process.env.CI) throw new Error(`the BuildKit comparison cannot run in CI: ${reference.reason}`);

let fixtures: CompareFixtures;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-compare-'));
const tags: string[] = [];

beforeAll(async () => {
  if (ready) fixtures = await startCompareFixtures();
}, 120_000);
afterAll(async () => {
  await reference.builder?.remove(tags);
  await fixtures?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/**
 * A base name no other build on the reference engine has had. buildx gives BuildKit the context
 * directory's base name as the key of its copy of the context (`build/opt.go`, `SharedKey`), and
 * BuildKit then sends only what differs from the last copy under that key. fsutil's receiver puts
 * back the times of directories it creates, not of ones it finds there already: a directory of an
 * earlier case (`app`, `dir`) whose files this case changes keeps the time of that change.
 */
function contextDirectoryName(caseName: string): string {
  return `${path.basename(scratch)}-${caseName.replace(/[^a-z0-9-]/g, '_')}`;
}

/** Sets every time in `dir` to CONTEXT_TIME, so copied files carry times both builders must keep. */
function settle(dir: string): void {
  for (const name of readdirSync(dir)) {
    const abs = path.join(dir, name);
    if (lstatSync(abs).isDirectory()) settle(abs);
    lutimesSync(abs, CONTEXT_TIME, CONTEXT_TIME);
  }
  utimesSync(dir, CONTEXT_TIME, CONTEXT_TIME);
}

describe('the comparison itself', () => {
  it('reads Docker Engine 28.5 HEALTHCHECK history in the form tsbuild and later BuildKit write', () => {
    expect(modernHealthcheck(`HEALTHCHECK &{["CMD-SHELL" "run || exit 1"] "30s" "0s" "0s" "1.5s" '\\x02'}`)).toBe(
      'HEALTHCHECK {Test:[CMD-SHELL run || exit 1] Interval:30s Timeout:0s StartPeriod:0s StartInterval:1.5s Retries:2}',
    );
    expect(modernHealthcheck(`HEALTHCHECK &{["CMD" "a \\"b\\""] "0s" "0s" "0s" "0s" '\\x00'}`)).toBe(
      'HEALTHCHECK {Test:[CMD a "b"] Interval:0s Timeout:0s StartPeriod:0s StartInterval:0s Retries:0}',
    );
    expect(modernHealthcheck('HEALTHCHECK {Test:[NONE] Interval:0s Timeout:0s StartPeriod:0s StartInterval:0s Retries:0}')).toBe(
      'HEALTHCHECK {Test:[NONE] Interval:0s Timeout:0s StartPeriod:0s StartInterval:0s Retries:0}',
    );
  });
});

describe.skipIf(!ready).concurrent(`tsbuild and BuildKit (${reference.builder?.version ?? reference.reason}) build the same image`, () => {
  for (const c of COMPARE_CASES) {
    // COMPARE_DIFFERS=1 runs the expected-to-differ cases as ordinary ones, to see their diff.
    const test = c.differs && !process.env.COMPARE_DIFFERS ? it.fails : it;
    test(`${c.name}: ${c.covers}`, async () => {
      const work = path.join(scratch, c.name.replace(/[^a-z0-9-]/g, '_'));
      const context = path.join(work, contextDirectoryName(c.name));
      cpSync(fixturePath('dockerfiles', 'compare', c.dir ?? c.name), context, { recursive: true });
      await c.prepare?.(context, fixtures);
      settle(context);
      const buildArgs = { ...fixtures.buildArgs, ...(c.buildArgs?.(fixtures) ?? {}) };
      const secrets = c.secrets?.(work) ?? {};

      const ours = path.join(work, 'tsbuild.tar');
      await build({
        context,
        root: path.join(work, 'root'),
        ...(c.target ? { target: c.target } : {}),
        buildArgs,
        outputs: [parseOutput(`type=oci,dest=${ours}`)],
        secrets: Object.fromEntries(Object.entries(secrets).map(([id, file]) => [id, readFileSync(file)])),
        registriesConfig: '/nonexistent/registries.json',
        dockerConfig: path.join(work, 'docker-config'),
      });
      const tag = `tsbuild-compare-${process.pid}-${c.name}:1`;
      tags.push(tag);
      const theirs = path.join(work, 'buildkit.tar');
      await reference.builder?.build({ context, tag, ...(c.target ? { target: c.target } : {}), buildArgs, secrets }, theirs);

      const [mine, them] = await Promise.all([describeImageArchive(ours, INPUTS_BEFORE), describeImageArchive(theirs, INPUTS_BEFORE)]);
      rmSync(work, { recursive: true, force: true });
      expect(mine.config).toEqual(them.config);
      expect(mine.history).toEqual(them.history.map(([by, empty, comment]) => [modernHealthcheck(by), empty, comment]));
      expect(mine.layers).toBe(them.layers);
      expect(mine.tree).toEqual(them.tree);
      expect(mine.keys).toEqual(them.keys);
      if (c.compareCreated) expect(mine.created).toEqual(them.created);
    }, 180_000);
  }
});
