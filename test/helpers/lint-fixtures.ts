/**
 * The Dockerfile-check fixtures (`fixtures/lint/<name>/`): a Dockerfile, optional `args` (command
 * line arguments, one per line: `--build-arg NAME=x`, `--target stage`), and what current BuildKit
 * printed for it: `check.txt`, `outline.txt` and `targets.txt` (stdout of `docker buildx build
 * --call=…`) and `status.json` (exit statuses, and the error line where one was printed).
 * `test/lint/buildkit-compare.test.ts` records them (UPDATE_LINT_FIXTURES=1) and checks they still hold.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fixturePath } from './shared.js';

export const CALLS = ['check', 'outline', 'targets'] as const;
export type Call = (typeof CALLS)[number];

/** What BuildKit reported for one call: its exit status and, when it failed, its error. */
export interface Recorded {
  status: number;
  error?: string;
}

export interface LintFixture {
  name: string;
  dir: string;
  /** The command line arguments besides `--call` and the context. */
  args: string[];
  buildArgs: Record<string, string>;
  target?: string;
  /** stdout per call, and status per call (absent before the first recording). */
  expected: Partial<Record<Call, { stdout: string } & Recorded>>;
}

export const lintFixtureRoot = fixturePath('lint');

export function lintFixtures(): LintFixture[] {
  return readdirSync(lintFixtureRoot)
    .sort()
    .map((name) => {
      const dir = path.join(lintFixtureRoot, name);
      const argsFile = path.join(dir, 'args');
      const args = existsSync(argsFile)
        ? readFileSync(argsFile, 'utf8')
            .split('\n')
            .filter((l) => l !== '')
        : [];
      const buildArgs: Record<string, string> = {};
      let target: string | undefined;
      for (let i = 0; i < args.length; i += 2) {
        const value = args[i + 1] ?? '';
        if (args[i] === '--build-arg') buildArgs[value.slice(0, value.indexOf('='))] = value.slice(value.indexOf('=') + 1);
        else if (args[i] === '--target') target = value;
        else throw new Error(`${argsFile}: unsupported argument ${args[i]}`);
      }
      const statusFile = path.join(dir, 'status.json');
      const statuses = existsSync(statusFile) ? (JSON.parse(readFileSync(statusFile, 'utf8')) as Partial<Record<Call, Recorded>>) : {};
      const expected: LintFixture['expected'] = {};
      for (const call of CALLS) {
        const file = path.join(dir, `${call}.txt`);
        const status = statuses[call];
        if (existsSync(file) && status) expected[call] = { stdout: readFileSync(file, 'utf8'), ...status };
      }
      return { name, dir, args, buildArgs, ...(target === undefined ? {} : { target }), expected };
    });
}

/** BuildKit's error line without its `ERROR: ` and solve-wrapper prefixes. */
export function bareError(line: string): string {
  return line.replace(/^ERROR: /, '').replace(/^failed to build: failed to solve: /, '');
}
