/**
 * How `bin/tsbuild.js` starts the command line (issue 17, docs/performance.md "The command line
 * from the code cache"): from the CommonJS bundle `dist/cli/tsbuild.cjs` with the code cache the
 * build made for it accepted, without starting Node's ES module loader; and, where that bundle is
 * missing or its cache does not fit, still working (the ES module bundle, or a compile from
 * source). Observed from outside: a module preloaded with `--require` (which starts no ES module
 * loader itself) records every `vm.Script` the process compiles, with what V8 did with its cache,
 * and whether Node loaded an ES module.
 */
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/shared.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-launcher-');

interface Started {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The scripts compiled through vm.Script, relative to the checkout: `dist/cli/tsbuild.cjs accepted`. */
  scripts: string[];
  /** Whether Node ran an ES module (its loader's module jobs). */
  esModules: boolean;
}

const HOOK = `
const { writeFileSync } = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const scripts = [];
vm.Script = class extends vm.Script {
  constructor(code, options) {
    super(code, options);
    const cache = options && options.cachedData ? (this.cachedDataRejected ? 'rejected' : 'accepted') : 'none';
    scripts.push(path.relative(process.env.CHECKOUT, options.filename) + ' ' + cache);
  }
};
process.on('exit', () => {
  const esModules = process.moduleLoadList.includes('NativeModule internal/modules/esm/module_job');
  writeFileSync(process.env.RECORD, JSON.stringify({ scripts, esModules }));
});
`;

/** `node CHECKOUT/bin/tsbuild.js ...args`, observed by the hook. */
function start(checkout: string, args: string[]): Started {
  const work = tempDir();
  const hook = path.join(work, 'hook.cjs');
  const record = path.join(work, 'record.json');
  writeFileSync(hook, HOOK);
  const env = { ...process.env, NODE_OPTIONS: `--require=${hook}`, CHECKOUT: checkout, RECORD: record };
  const result = spawnSync(process.execPath, [path.join(checkout, 'bin', 'tsbuild.js'), ...args], { env, encoding: 'utf8', timeout: 60_000 });
  const seen = JSON.parse(readFileSync(record, 'utf8')) as { scripts: string[]; esModules: boolean };
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, ...seen };
}

/** A context of one file copied into an image from scratch: no base image, no registry. */
function scratchBuild(): string[] {
  const context = tempDir();
  writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\nCOPY a.txt /a.txt\n');
  writeFileSync(path.join(context, 'a.txt'), 'a\n');
  return ['--root', tempDir(), 'build', '-q', context];
}

describe('the installed command starts from the code cache', () => {
  it.each(
    [
      { name: '--version', args: () => ['--version'], stdout: /^0\.1\.0\n$/, scripts: ['dist/cli/tsbuild.cjs accepted'] },
      { name: '--help', args: () => ['--help'], stdout: /^Usage: tsbuild \[options\] \[command\]\n/, scripts: ['dist/cli/tsbuild.cjs accepted'] },
      {
        name: 'a build',
        args: scratchBuild,
        stdout: /^sha256:[0-9a-f]{64}\n$/,
        scripts: ['dist/cli/tsbuild.cjs accepted', 'dist/cli/library.cjs accepted'],
        root: true,
      },
    ].filter((c) => isRoot || !c.root),
  )('$name runs $scripts and no ES module', ({ args, stdout, scripts }) => {
    const started = start(projectRoot, args());
    expect([started.status, started.stderr]).toEqual([0, '']);
    expect(started.stdout).toMatch(stdout);
    expect([started.scripts, started.esModules]).toEqual([scripts, false]);
  });
});

describe('the installed command without its CommonJS bundle or its cache', () => {
  /** The command and the files of its command line, copied to a directory of their own. */
  function copyOfCommand(): string {
    const checkout = tempDir();
    cpSync(path.join(projectRoot, 'bin'), path.join(checkout, 'bin'), { recursive: true });
    const cli = path.join(checkout, 'dist', 'cli');
    mkdirSync(cli, { recursive: true });
    for (const file of ['tsbuild.cjs', 'tsbuild.cjs.cache', 'compiled-module.cjs', 'tsbuild.mjs']) {
      copyFileSync(path.join(projectRoot, 'dist', 'cli', file), path.join(cli, file));
    }
    cpSync(path.join(projectRoot, 'dist', 'cli', 'chunks'), path.join(cli, 'chunks'), { recursive: true });
    return checkout;
  }

  it.each([
    { name: 'all there', change: () => undefined, scripts: ['dist/cli/tsbuild.cjs accepted'], esModules: false },
    {
      name: 'no ES module bundle',
      change: (cli: string) => rmFile(cli, 'tsbuild.mjs'),
      scripts: ['dist/cli/tsbuild.cjs accepted'],
      esModules: false,
    },
    { name: 'no cache', change: (cli: string) => rmFile(cli, 'tsbuild.cjs.cache'), scripts: ['dist/cli/tsbuild.cjs none'], esModules: false },
    {
      name: 'a cache of other bytes',
      change: (cli: string) => writeFileSync(path.join(cli, 'tsbuild.cjs.cache'), Buffer.alloc(4096, 7)),
      scripts: ['dist/cli/tsbuild.cjs rejected'],
      esModules: false,
    },
    { name: 'no CommonJS bundle', change: (cli: string) => rmFile(cli, 'tsbuild.cjs'), scripts: [], esModules: true },
  ])('$name: --version works, through $scripts', ({ change, scripts, esModules }) => {
    const checkout = copyOfCommand();
    change(path.join(checkout, 'dist', 'cli'));
    const started = start(checkout, ['--version']);
    expect(started).toEqual({ status: 0, stdout: '0.1.0\n', stderr: '', scripts, esModules });
  });
});

describe('the installed command without its library bundle', () => {
  it('says what is missing when a command needs the library', () => {
    const checkout = tempDir();
    cpSync(path.join(projectRoot, 'bin'), path.join(checkout, 'bin'), { recursive: true });
    cpSync(path.join(projectRoot, 'dist', 'cli'), path.join(checkout, 'dist', 'cli'), { recursive: true });
    rmFile(path.join(checkout, 'dist', 'cli'), 'library.cjs');
    const started = start(checkout, ['build', tempDir()]);
    expect([started.status, started.stdout, started.stderr.split('\n')[0], started.scripts]).toEqual([
      2,
      '',
      'internal error: dist/cli/library.cjs, the library of this command line, is missing: run `npm run build`',
      ['dist/cli/tsbuild.cjs accepted'],
    ]);
  });
});

function rmFile(dir: string, name: string): void {
  rmSync(path.join(dir, name));
}

describe('the installed command when its command line never finishes', () => {
  it.each([
    ['never settles', 13, 'internal error: the command stopped before it finished', 'exports.main = () => new Promise(() => {});'],
    ['rejects', 2, 'internal error: lost', "exports.main = () => Promise.reject(new Error('lost'));"],
  ])('a main that %s: exit %i and one line, not a silent success', (_name, status, line, source) => {
    const checkout = tempDir();
    cpSync(path.join(projectRoot, 'bin'), path.join(checkout, 'bin'), { recursive: true });
    const cli = path.join(checkout, 'dist', 'cli');
    mkdirSync(cli, { recursive: true });
    copyFileSync(path.join(projectRoot, 'dist', 'cli', 'compiled-module.cjs'), path.join(cli, 'compiled-module.cjs'));
    writeFileSync(path.join(cli, 'tsbuild.cjs'), `${source}\n`);
    const started = start(checkout, ['--version']);
    expect([started.status, started.stdout, started.stderr.split('\n')[0]]).toEqual([status, '', line]);
  });
});

describe("the installed command's V8 worker threads", () => {
  /** The CPUs Linux has online (`/sys/devices/system/cpu/online`: `0-1`), where they are 1 to 4 from CPU 0 on. */
  function fewOnlineCpus(): number | undefined {
    const list = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
    const range = /^0(?:-([1-3]))?$/.exec(list);
    return range ? Number(range[1] ?? 0) + 1 : undefined;
  }

  /** The Node options the process started with (`process.execArgv`), run as a program or through `node`. */
  function execArgv(asProgram: boolean): string[] {
    const work = tempDir();
    const hook = path.join(work, 'hook.cjs');
    const record = path.join(work, 'argv.json');
    writeFileSync(hook, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify(process.execArgv)));\n`);
    const command = path.join(projectRoot, 'bin', 'tsbuild.js');
    const result = spawnSync(asProgram ? command : process.execPath, asProgram ? ['--version'] : [command, '--version'], {
      env: { ...process.env, NODE_OPTIONS: `--require=${hook}` },
      encoding: 'utf8',
    });
    expect([result.status, result.stdout, result.stderr]).toEqual([0, '0.1.0\n', '']);
    return JSON.parse(readFileSync(record, 'utf8')) as string[];
  }

  it("as a program: one fewer than the CPUs online (at least 1), or 4 (Node's own number) on more than 4", () => {
    const cpus = fewOnlineCpus();
    expect(execArgv(true)).toEqual([`--v8-pool-size=${cpus === undefined ? 4 : Math.max(1, cpus - 1)}`]);
  });

  it('through `node bin/tsbuild.js`: Node chooses (the first line is a comment there)', () => {
    expect(execArgv(false)).toEqual([]);
  });
});
