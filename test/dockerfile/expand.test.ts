import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expandWord, expandWords, lookupIn } from '../../src/dockerfile/expand.js';
import { sharedPath } from '../helpers/shared.js';

/** envVarTest: `platform | source | expected`, single-word mode, Linux lines only. */
function envVarVectors(): Array<{ line: number; source: string; expected: string }> {
  const text = readFileSync(sharedPath('conformance/buildkit-shell/envVarTest'), 'utf8');
  const vectors: Array<{ line: number; source: string; expected: string }> = [];
  text.split('\n').forEach((raw, index) => {
    if (raw.startsWith('#') || raw.trim() === '') return;
    const fields = raw.trim().split('|');
    if (fields.length !== 3) throw new Error(`envVarTest:${index + 1}: expected 3 fields`);
    const [platform, source, expected] = fields.map((f) => f.trim()) as [string, string, string];
    if (platform === 'A' || platform === 'U') vectors.push({ line: index + 1, source, expected });
  });
  return vectors;
}

/** wordsTest: `ENV k=v` lines build the environment; other lines are `input | w1,w2,...`. */
function wordsVectors(): Array<{ line: number; input: string; expected: string[]; env: Record<string, string> }> {
  const text = readFileSync(sharedPath('conformance/buildkit-shell/wordsTest'), 'utf8');
  const env: Record<string, string> = {};
  const vectors: Array<{ line: number; input: string; expected: string[]; env: Record<string, string> }> = [];
  // A scanner yields no line after the final newline.
  text
    .replace(/\n$/, '')
    .split('\n')
    .forEach((raw, index) => {
      if (raw.startsWith('#')) return;
      if (raw.startsWith('ENV ')) {
        const entry = raw.slice(3).replace(/^ +/, '');
        const eq = entry.indexOf('=');
        env[entry.slice(0, eq)] = entry.slice(eq + 1);
        return;
      }
      const fields = raw.split('|');
      if (fields.length !== 2) throw new Error(`wordsTest:${index + 1}: expected 2 fields`);
      const expected = (fields[1] ?? '').replace(/^ +/, '').split(',');
      vectors.push({ line: index + 1, input: (fields[0] ?? '').trim(), expected, env: { ...env } });
    });
  return vectors;
}

const envVarEnv = lookupIn({ PWD: '/home', SHELL: 'bash', KOREAN: '한국어', NULL: '' });

describe('BuildKit envVarTest vectors (single-word mode)', () => {
  const vectors = envVarVectors();
  it('reads all 228 Linux vectors', () => expect(vectors).toHaveLength(228));
  it.each(vectors)('envVarTest:$line $source', ({ source, expected }) => {
    if (expected === 'error') expect(() => expandWord(source, envVarEnv)).toThrow();
    else expect(expandWord(source, envVarEnv)).toBe(expected);
  });
});

describe('BuildKit wordsTest vectors (words mode)', () => {
  const vectors = wordsVectors();
  it('reads all 24 vectors', () => expect(vectors).toHaveLength(24));
  it.each(vectors)('wordsTest:$line $input', ({ input, expected, env }) => {
    let words: string[];
    try {
      words = expandWords(input, lookupIn(env));
    } catch {
      words = ['error'];
    }
    expect(words).toEqual(expected);
  });
});

describe('pattern modifiers pinned by lex_test.go', () => {
  const cases: Array<[string, Record<string, string>, string | Error]> = [
    ['${FOO#*x*y}', { FOO: 'xxyy' }, 'y'],
    ['${FOO##*x}', { FOO: 'xxyy' }, 'yy'],
    ['${FOO#*}', { FOO: 'xxyy' }, 'xxyy'],
    ['${FOO#}', { FOO: 'xxyy' }, 'xxyy'],
    ['${FOO%}', { FOO: 'xxyy' }, 'xxyy'],
    ['${FOO%%\\**}', { FOO: 'xx**' }, 'xx'],
    ['${FOO%%\\**\\*}', { FOO: 'a***yy*' }, 'a'],
    ['${FOO#?\\?}', { FOO: '???y' }, '?y'],
    ['${FOO#$BAR}', { FOO: 'xxyy', BAR: 'x' }, 'xyy'],
    // A `-` in the pattern is literal (it once made an invalid `u` RegExp).
    ['${FOO#prefix-}', { FOO: 'prefix-value-suffix' }, 'value-suffix'],
    ['${FOO%-suffix}', { FOO: 'prefix-value-suffix' }, 'prefix-value'],
    ['${FOO%%-*}', { FOO: 'a-b-c' }, 'a'],
    ['${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}', { FOO: '/foo*/*/*.txt', NEEDLE: '\\*/' }, '/foo.*/*.txt - /foo..*.txt'],
    ['${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}', { FOO: '/tmp/tmp/bar.txt', NEEDLE: '/tmp' }, '/tmp/bar.txt - /bar.txt'],
    ['${FOO//\\//\\/}', { FOO: '/tmp/foo.txt' }, '\\/tmp\\/foo.txt'],
    ['${FOO:#}', { FOO: 'x' }, new Error()],
    ['${FOO:##}', { FOO: 'x' }, new Error()],
    ['${FOO:%}', { FOO: 'x' }, new Error()],
    ['${FOO:%%}', { FOO: 'x' }, new Error()],
    ['${FOO=aaa}', {}, new Error()],
    ['${FOO=:aaa}', {}, new Error()],
    ['${FOO=}', {}, new Error()],
    ['${FOO//ww}', { FOO: 'xxyy' }, new Error()],
    ['${FOO//}', { FOO: 'xxyy' }, new Error()],
    ['${VAR?message here$ARG}', { VAR: '', ARG: 'x' }, ''],
    [
      'something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz',
      { VERSION: 'v1.2.3', TARGETOS: 'linux', TARGETARCH: 'arm', TARGETVARIANT: 'v7' },
      'something-v1.2.3.linux-arm-v7.tar.gz',
    ],
    [
      'something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz',
      { VERSION: 'v1.2.3', TARGETOS: 'linux', TARGETARCH: 'arm64', TARGETVARIANT: '' },
      'something-v1.2.3.linux-arm64.tar.gz',
    ],
  ];
  it.each(cases)('%s', (source, env, expected) => {
    if (expected instanceof Error) expect(() => expandWord(source, lookupIn(env))).toThrow();
    else expect(expandWord(source, lookupIn(env))).toBe(expected);
  });

  it.each<Record<string, string>>([{}, { VAR: '' }])('${VAR:?message} names the variable and the expanded message (%o)', (env) => {
    expect(() => expandWord('${VAR:?message here$ARG}', lookupIn({ ...env, ARG: 'x' }))).toThrow('VAR: message herex');
  });

  it('keeps unset variables as written with skipUnset', () => {
    expect(expandWord('$A ${B} ${C:-x} $D', lookupIn({ D: 'd' }), { skipUnset: true })).toBe('$A ${B} ${C:-x} d');
  });

  it('honours the backtick escape character', () => {
    expect(expandWord('a`$b `"c', lookupIn({}), { escape: '`' })).toBe('a$b "c');
  });
});
