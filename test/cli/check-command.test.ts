/**
 * `tsbuild build --call=check|outline|targets` and `--check` through the command line: what goes to
 * stdout and stderr, the exit statuses (buildx's: 1 when the check has findings, unless
 * `ignorestatus`; 1 with an error line for `# check=error=true`), that nothing runs and no state is
 * written, and the findings a normal build lists when it ends.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { tsbuild } from '../helpers/cli.js';
import { fixturePath } from '../helpers/shared.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-check-cli-');
let dir: string;
let root: string;
beforeEach(() => {
  dir = tempDir();
  root = path.join(dir, 'state');
});

const JSON_ARGS = 'JSON arguments recommended for CMD to prevent unintended behavior related to OS signals';
const excerpt = (lines: string[], marked: number): string =>
  `Dockerfile:${marked}\n--------------------\n${lines.map((l, i) => ` ${String(i + 1).padStart(3)} | ${i + 1 === marked ? '>>>' : '   '} ${l}\n`).join('')}--------------------\n`;

function check(dockerfile: string, ...args: string[]): ReturnType<typeof tsbuild> {
  writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
  return tsbuild(['--root', root, 'build', ...args, dir]);
}

describe('tsbuild build --call=check', () => {
  it.each([
    {
      name: 'a clean Dockerfile',
      dockerfile: 'FROM scratch\nCMD ["x"]\n',
      args: ['--check'],
      status: 0,
      stdout: 'Check complete, no warnings found.\n',
    },
    {
      name: 'a finding',
      dockerfile: 'FROM scratch\nCMD x\n',
      args: ['--call=check'],
      status: 1,
      stdout: `Check complete, 1 warning has been found!\n\nWARNING: JSONArgsRecommended - https://docs.docker.com/go/dockerfile/rule/json-args-recommended/\n${JSON_ARGS}\n${excerpt(['FROM scratch', 'CMD x', ''], 2)}`,
    },
    {
      name: 'ignorestatus',
      dockerfile: 'FROM scratch\nCMD x\n',
      args: ['--call=check,ignorestatus=true'],
      status: 0,
      stdout: /^Check complete, 1 warning has/,
    },
    { name: 'the older name lint', dockerfile: 'FROM scratch\nCMD x\n', args: ['--call=lint'], status: 1, stdout: /^Check complete, 1 warning has/ },
    {
      name: 'skip=',
      dockerfile: '# check=skip=JSONArgsRecommended\nFROM scratch\nCMD x\n',
      args: ['--check'],
      status: 0,
      stdout: 'Check complete, no warnings found.\n',
    },
    {
      name: 'skip=all',
      dockerfile: '#check=skip=all\nfrom scratch AS X\nCMD x\n',
      args: ['--check'],
      status: 0,
      stdout: 'Check complete, no warnings found.\n',
    },
    {
      name: 'the build-arg that replaces the directive',
      dockerfile: '# check=error=true\nFROM scratch\nCMD x\n',
      args: ['--check', '--build-arg', 'BUILDKIT_DOCKERFILE_CHECK=skip=all'],
      status: 0,
      stdout: 'Check complete, no warnings found.\n',
    },
  ])('$name: exit $status', ({ dockerfile, args, status, stdout }) => {
    const result = check(dockerfile, ...args);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(status);
    if (typeof stdout === 'string') expect(result.stdout).toBe(stdout);
    else expect(result.stdout).toMatch(stdout);
  });

  it('check=error=true: the report, then the rules that failed it', () => {
    const result = check('# check=error=true\nFROM scratch AS Up\nCMD x\n', '--check');
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/^Check complete, 2 warnings have been found!\n[^]*--------------------\n\n$/);
    expect(result.stderr).toBe('error: lint violation found for rules: StageNameCasing, JSONArgsRecommended\n');
  });

  it.each([
    [
      '# check=skip=all;oops\nFROM scratch\n',
      ['--check'],
      'error: Dockerfile:1:3: failed to parse check options: invalid check option "oops"\n 1 | # check=skip=all;oops\n   |   ^^^^^\n',
    ],
    [
      'FROM scratch\n',
      ['--check', '--build-arg', 'BUILDKIT_DOCKERFILE_CHECK=nope'],
      'error: failed to parse build-arg:BUILDKIT_DOCKERFILE_CHECK: invalid check option "nope"\n',
    ],
    ['FROM scratch\n', ['--call=nope'], 'error: unknown --call method "nope"\nuse check, outline, targets or build\n'],
    [
      'FROM scratch\n',
      ['--call=check,format=json'],
      'error: invalid --call option "format=json"\nonly ignorestatus=true|false is supported (not format=json)\n',
    ],
    ['FROM scratch\n', ['--check', '--print-plan'], 'error: --call and --check cannot be combined with --print-plan\n'],
  ])('%j %j fails with one clear error', (dockerfile, args, stderr) => {
    const result = check(dockerfile, ...args);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(stderr);
  });

  it('reports a build error after the findings before it, and fails', () => {
    const result = check('FROM scratch AS Up\nCOPY --from=later / /\nFROM scratch AS later\n', '--check');
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/^Check complete, 1 warning has been found!\n\nWARNING: StageNameCasing [^]*--------------------\n\n$/);
    expect(result.stderr).toBe(
      'error: Dockerfile:2:13: cannot copy from stage "later", it needs to be defined before current stage "up"\n 2 | COPY --from=later / /\n   |             ^^^^^\n',
    );
  });

  it.each([
    [
      'docker-image:// of a stored image: its ENV is known',
      (_dir: string) => 'docker-image://base-image:1',
      0,
      'Check complete, no warnings found.\n',
    ],
    [
      'a directory: an empty base, so the variable is undefined',
      (d: string) => d,
      1,
      /^Check complete, 2 warnings have been found!\n\nWARNING: UndefinedVar .*\n\nWARNING: WorkdirRelativePath /s,
    ],
  ])('a FROM named by --build-context is read from there, not from a registry: %s', (_what, source, status, stdout) => {
    // The stored image: no layers, one ENV.
    const baseDir = tempDir();
    writeFileSync(path.join(baseDir, 'Dockerfile'), 'FROM scratch\nENV FROMBASE=/from-base\n');
    expect(tsbuild(['--root', root, 'build', '-q', '-t', 'base-image:1', baseDir]).status).toBe(0);
    const result = check('FROM base\nWORKDIR $FROMBASE\n', '--call=check', '--build-context', `base=${source(tempDir())}`);
    expect([result.status, result.stderr]).toEqual([status, '']);
    expect(result.stdout).toEqual(typeof stdout === 'string' ? stdout : expect.stringMatching(stdout));
  });

  it('runs no step and writes no state', () => {
    const result = check('FROM scratch\nRUN ["/bin/false"]\nCOPY missing /x\n', '--check');
    expect(result.status).toBe(0);
    expect(existsSync(root)).toBe(false);
  });

  it('lists --call and --check in --help', () => {
    const help = tsbuild(['build', '--help']).stdout;
    expect(help).toContain('--call <method>');
    expect(help).toContain('--check');
  });
});

describe('tsbuild build --call=outline and --call=targets', () => {
  it.each([
    ['outline', 'outline'],
    ['targets', 'targets'],
    ['outline', 'outline-target'],
  ])('--call=%s prints fixtures/lint/%s as BuildKit does', (call, fixture) => {
    const source = fixturePath('lint', fixture);
    const args = existsSync(path.join(source, 'args')) ? readFileSync(path.join(source, 'args'), 'utf8').trim().split('\n') : [];
    const result = tsbuild(['--root', root, 'build', `--call=${call}`, ...args, source]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(readFileSync(path.join(source, `${call}.txt`), 'utf8'));
  });

  it('an outline lists the findings of the stages it reads, and fails on them with check=error=true', () => {
    const warned = check('FROM scratch AS Up\nARG A=1\n', '--call=outline');
    expect(warned.status).toBe(0);
    expect(warned.stdout).toBe('TARGET: up\n\nBUILD ARG   VALUE   DESCRIPTION\nA           1       \n\n');
    expect(warned.stderr).toBe("\n 1 warning found (use --debug to expand):\n - StageNameCasing: Stage name 'Up' should be lowercase (line 1)\n");
    const failed = check('# check=error=true\nFROM scratch AS Up\n', '--call=outline');
    expect(failed.status).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toMatch(/\(line 2\)\nerror: lint violation found for rules: StageNameCasing\n$/);
  });
});

describe.skipIf(process.getuid?.() !== 0)('the findings of a build', () => {
  it('are listed once when it ends (expanded with --debug), not in quiet mode', () => {
    writeFileSync(path.join(dir, 'a'), 'a\n');
    const dockerfile = 'FROM scratch AS Final\nENV A=1 \\\n\n    B=2\nCOPY a /a\nCMD run\n';
    const plain = check(dockerfile, '--progress=plain');
    expect(plain.status, plain.stderr).toBe(0);
    const tail = plain.stderr.slice(plain.stderr.indexOf('1 steps run'));
    expect(tail).toBe(
      [
        '1 steps run, 0 cached',
        '',
        ' 3 warnings found (use --debug to expand):',
        " - StageNameCasing: Stage name 'Final' should be lowercase (line 1)",
        ' - NoEmptyContinuation: Empty continuation line (line 4)',
        ` - JSONArgsRecommended: ${JSON_ARGS} (line 6)`,
        '',
      ].join('\n'),
    );
    // The parser's own warning about the empty line is that finding: not printed twice.
    expect(plain.stderr).not.toContain('empty continuation line found');
    const debug = tsbuild(['--root', root, '--debug', 'build', '--progress=plain', dir]);
    expect(debug.stderr).toContain(' 3 warnings found:\n');
    expect(debug.stderr).toContain(
      ` - JSONArgsRecommended: ${JSON_ARGS} (line 6)\nJSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals\nMore info: https://docs.docker.com/go/dockerfile/rule/json-args-recommended/\nDockerfile:6\n`,
    );
    const quiet = tsbuild(['--root', root, 'build', '-q', dir]);
    expect(quiet.stderr).toBe('');
  });

  it('check=error=true stops the build before any step, writing no state', () => {
    writeFileSync(path.join(dir, 'a'), 'a\n');
    const result = check('# check=error=true\nFROM scratch\nCOPY a /a\nCMD run\n', '--progress=plain');
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `\n 1 warning found (use --debug to expand):\n - JSONArgsRecommended: ${JSON_ARGS} (line 4)\nerror: lint violation found for rules: JSONArgsRecommended\n`,
    );
    expect(existsSync(root)).toBe(false);
  });
});
