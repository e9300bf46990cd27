/**
 * The check engine where the fixtures cannot reach: what base images bring (ENV, SHELL, ONBUILD,
 * their platform), which stages a build walks, errors that stop a check, the `# check=` parser,
 * and the excerpt and table layouts. Expected values are BuildKit's (its messages, its source
 * excerpt and tabwriter rules).
 */
import { describe, expect, it } from 'vitest';
import { parseDockerfile } from '../../src/dockerfile/parse.js';
import { searchSuggestion } from '../../src/dockerfile/suggest.js';
import { CheckOptionError, DEFAULT_CONFIG, directiveOptions, parseCheckOptions } from '../../src/lint/config.js';
import { formatBuildWarnings, formatCheckReport, formatExcerpt } from '../../src/lint/format.js';
import { CheckConfigError, lintDockerfile, prepareLint, type LintOptions } from '../../src/lint/lint.js';
import type { BaseImage } from '../../src/lint/stage-walk.js';
import { formatTable } from '../../src/lint/tabwriter.js';

const amd64 = { os: 'linux', architecture: 'amd64' };

/** `rule: message (line N)` of every finding. */
function findings(text: string, options: Partial<LintOptions> = {}): string[] {
  const result = lintDockerfile(parseDockerfile(text), { buildPlatform: amd64, ...options });
  return result.warnings.map((w) => `${w.rule}: ${w.message} (line ${w.location.start})`);
}

const image = (config: BaseImage['config'], platform = amd64): Record<string, BaseImage> => ({ busybox: { config, platform } });

describe('what base images bring', () => {
  it.each([
    {
      name: 'base ENV names are defined, and suggested',
      dockerfile: 'FROM busybox\nWORKDIR $HOME\nENV X=$HOM\n',
      bases: image({ Env: ['PATH=/bin', 'HOME=/root'] }),
      expected: ["UndefinedVar: Usage of undefined variable '$HOM' (did you mean $HOME?) (line 3)"],
    },
    {
      name: 'an image without ENV still has PATH',
      dockerfile: 'FROM busybox\nENV P=$PATH:/opt/bin\n',
      bases: image({}),
      expected: [],
    },
    {
      name: 'an unknown base image is checked as if it set nothing',
      dockerfile: 'FROM busybox\nWORKDIR $HOME\n',
      bases: {},
      expected: [
        "UndefinedVar: Usage of undefined variable '$HOME' (line 2)",
        'WorkdirRelativePath: Relative workdir "" can have unexpected results if the base image changes (line 2)',
      ],
    },
    {
      name: 'a base SHELL makes shell-form CMD fine',
      dockerfile: 'FROM busybox\nCMD echo hi\n',
      bases: image({ Shell: ['/bin/bash', '-c'] }),
      expected: [],
    },
    {
      name: 'base ONBUILD triggers run first, reported at the FROM',
      dockerfile: 'FROM scratch AS x\nFROM busybox\nCMD ["a"]\n',
      bases: image({ OnBuild: ['ENV A=$NOPE', 'CMD echo first'] }),
      expected: [
        "UndefinedVar: Usage of undefined variable '$NOPE' (line 2)",
        'JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals (line 2)',
        'MultipleInstructionsDisallowed: Multiple CMD instructions should not be used in the same stage because only the last one will be used (line 2)',
      ],
    },
    {
      name: 'an image for another platform',
      dockerfile: 'FROM busybox\n',
      bases: image({}, { os: 'linux', architecture: 'arm64' }),
      options: { targetPlatform: amd64 },
      expected: [
        'InvalidBaseImagePlatform: Base image busybox was pulled with platform "linux/arm64", expected "linux/amd64" for current build (line 1)',
      ],
    },
    {
      name: 'an image for another platform in a stage no target needs: checked, its triggers not run',
      dockerfile: 'FROM busybox AS unused\nFROM scratch\n',
      bases: image({ OnBuild: ['ENV A=$NOPE'] }, { os: 'linux', architecture: 'arm64' }),
      options: { targetPlatform: amd64 },
      expected: [
        'InvalidBaseImagePlatform: Base image busybox was pulled with platform "linux/arm64", expected "linux/amd64" for current build (line 1)',
      ],
    },
    {
      name: 'an image for the build platform, no platform asked for',
      dockerfile: 'FROM busybox\n',
      bases: image({}, amd64),
      expected: [],
    },
  ])('$name', ({ dockerfile, bases, options, expected }) => {
    expect(findings(dockerfile, { baseImages: bases, ...options })).toEqual(expected);
  });

  it('names the images a check needs: every stage, or what the target needs', () => {
    const df = parseDockerfile('ARG V=1\nFROM busybox:${V} AS a\nFROM alpine AS b\nFROM --platform=linux/arm64 a\nFROM scratch\n');
    expect(prepareLint(df, { buildPlatform: amd64 }).images).toEqual([
      { ref: 'busybox:1', platform: amd64 },
      { ref: 'alpine', platform: amd64 },
    ]);
    expect(prepareLint(df, { buildPlatform: amd64, target: 'b' }).images).toEqual([{ ref: 'alpine', platform: amd64 }]);
  });
});

describe('which stages are walked', () => {
  const dockerfile = 'FROM scratch AS One\nCMD echo one\nFROM scratch AS two\nCMD echo two\nFROM one\nCOPY --from=two / /\n';
  const json = (line: number): string =>
    `JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals (line ${line})`;

  it('all of them for --call=check, those the target needs for a build; the text checks cover all', () => {
    const casing = "StageNameCasing: Stage name 'One' should be lowercase (line 1)";
    expect(findings(dockerfile)).toEqual([casing, json(2), json(4)]);
    expect(findings(dockerfile, { target: 'one' })).toEqual([casing, json(2)]);
    expect(findings(dockerfile, { allStages: false })).toEqual([casing, json(2), json(4)]);
    expect(findings(dockerfile, { target: 'two', allStages: true })).toEqual([casing, json(2), json(4)]);
  });
});

describe('errors stop a check, keeping what was found before', () => {
  it.each([
    ['ENV X=${Y:?nope}', 'Dockerfile:2:7: Y: nope', ["UndefinedVar: Usage of undefined variable '$Y' (line 2)"]],
    // EXPOSE takes whitespace-separated words, as in BuildKit: `${P:?no` is one.
    ['EXPOSE ${P:?no port}', "Dockerfile:2:8: syntax error: missing '}'", []],
    ['EXPOSE ${P:?unset}', 'Dockerfile:2:8: P: unset', []],
  ])('%s', (line, error, expected) => {
    const result = lintDockerfile(parseDockerfile(`FROM scratch AS Up\n${line}\nCMD echo unreached\n`), { buildPlatform: amd64 });
    expect(result.error?.message).toBe(error);
    expect(result.warnings.map((w) => `${w.rule}: ${w.message} (line ${w.location.start})`)).toEqual([
      "StageNameCasing: Stage name 'Up' should be lowercase (line 1)",
      ...expected,
    ]);
  });

  it.each<[string, string, Partial<LintOptions>?]>([
    ['FROM ${NOTHING}\n', 'Dockerfile:1:6: base name (${NOTHING}) should not be blank'],
    ['FROM --platform=${P} scratch\n', 'Dockerfile:1:6: empty platform value from expression ${P}'],
    ['FROM scratch\n', 'target stage "nope" could not be found', { target: 'nope' }],
  ])('%j fails the check: %s', (dockerfile, error, options = {}) => {
    expect(lintDockerfile(parseDockerfile(dockerfile), { buildPlatform: amd64, ...options }).error?.message).toBe(error);
  });

  it('a bad # check= directive is an error of its own, located', () => {
    const run = (): unknown => lintDockerfile(parseDockerfile('# check=skip=all;oops\nFROM scratch\n'), { buildPlatform: amd64 });
    expect(run).toThrow(CheckConfigError);
    expect(run).toThrow('Dockerfile:1:3: failed to parse check options: invalid check option "oops"');
  });
});

describe('the # check= directive', () => {
  it.each([
    ['', DEFAULT_CONFIG],
    ['skip=all', { ...DEFAULT_CONFIG, skipAll: true }],
    ['skip=A, B ', { ...DEFAULT_CONFIG, skip: new Set(['A', 'B']) }],
    ['error=true', { ...DEFAULT_CONFIG, error: true }],
    ['error=1;skip=JSONArgsRecommended', { ...DEFAULT_CONFIG, error: true, skip: new Set(['JSONArgsRecommended']) }],
    ['experimental=all;error=False', { ...DEFAULT_CONFIG, experimentalAll: true }],
    // Go's SplitN(…, 3): a fourth option stays in the third.
    ['error=true;error=false;skip=A;skip=B', { ...DEFAULT_CONFIG, skip: new Set(['A;skip=B']) }],
  ])('%j', (text, expected) => {
    expect(parseCheckOptions(text)).toEqual(expected);
  });

  it.each([
    ['foo', 'invalid check option "foo"'],
    ['foo=bar', 'invalid check option "foo"'],
    ['skip=A; error', 'invalid check option " error"'],
    ['error=maybe', 'failed to parse check option "error=maybe": strconv.ParseBool: parsing "maybe": invalid syntax'],
  ])('%j is refused: %s', (text, message) => {
    expect(() => parseCheckOptions(text)).toThrow(new CheckOptionError(message));
  });

  it('reads the directive up to its first space', () => {
    expect(directiveOptions('skip=A error=true')).toBe('skip=A');
  });
});

describe('layouts', () => {
  const source = Array.from({ length: 8 }, (_, i) => `line ${i + 1}`).join('\n');
  it.each([
    [{ start: 1, end: 1 }, [1, 3], [1]],
    [{ start: 4, end: 4 }, [2, 6], [4]],
    [{ start: 8, end: 8 }, [6, 8], [8]],
    [{ start: 3, end: 5 }, [2, 6], [3, 4, 5]],
    [{ start: 7, end: 8 }, [6, 8], [7, 8]],
  ])('the excerpt of %j shows lines %j, marking %j', (location, [first, last], marked) => {
    const lines = Array.from({ length: (last ?? 0) - (first ?? 0) + 1 }, (_, i) => {
      const n = (first ?? 0) + i;
      return ` ${String(n).padStart(3)} | ${marked.includes(n) ? '>>>' : '   '} line ${n}\n`;
    });
    expect(formatExcerpt('Dockerfile', source, location)).toBe(
      `Dockerfile:${location.start}\n--------------------\n${lines.join('')}--------------------\n`,
    );
  });

  const warning = {
    rule: 'InvalidBaseImagePlatform',
    description: 'Base image platform does not match expected target platform',
    message: 'm',
    location: { start: 1, end: 1 },
  };
  it('prints a rule without a URL without one', () => {
    expect(formatCheckReport([warning], 'Dockerfile', 'FROM x\n', false)).toBe(
      'Check complete, 1 warning has been found!\n\nWARNING: InvalidBaseImagePlatform\nm\nDockerfile:1\n--------------------\n   1 | >>> FROM x\n   2 |     \n--------------------\n',
    );
  });

  it('lists findings at the end of a build, expanded with --debug', () => {
    const json = { ...warning, rule: 'JSONArgsRecommended', url: 'https://u/', description: 'd', message: 'JSON', location: { start: 2, end: 2 } };
    expect(formatBuildWarnings([json], 'Dockerfile', 'FROM x\nCMD y\n', false)).toBe(
      '\n 1 warning found (use --debug to expand):\n - JSONArgsRecommended: JSON (line 2)\n',
    );
    expect(formatBuildWarnings([json, json], 'Dockerfile', 'FROM x\nCMD y\n', true)).toContain(
      ' 2 warnings found:\n - JSONArgsRecommended: JSON (line 2)\nd\nMore info: https://u/\nDockerfile:2\n',
    );
    expect(formatBuildWarnings([], 'Dockerfile', '', false)).toBe('');
  });

  it('pads table cells as tabwriter does, the last column not at all', () => {
    expect(
      formatTable(
        [
          ['TARGET', 'DESCRIPTION'],
          ['b (default)', ''],
          ['', 'x'],
        ],
        1,
      ),
    ).toBe('TARGET      DESCRIPTION\nb (default) \n            x\n');
  });

  it.each([
    ['VERSIN', ['PATH', 'VERSION'], 'VERSION'],
    ['Y', ['PATH', 'X', 'Z'], 'X'],
    ['FOO', ['PATH', 'FOO'], undefined],
    ['ABCDEF', ['PATH'], undefined],
  ])('suggests for %s among %j: %s', (value, options, expected) => {
    expect(searchSuggestion(value, options, true)).toBe(expected);
  });
});
