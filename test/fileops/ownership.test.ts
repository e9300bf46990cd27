import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { modeFor, parseChmod, resolveChown } from '../../src/fileops/ownership.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-chmod-');

describe('--chmod', () => {
  it.each([
    ['0644', 0o644],
    ['777', 0o777],
    ['0', 0],
    ['0413', 0o413],
    ['4755', 0o4755],
  ])('numeric %s', (text, mode) => {
    expect(modeFor(parseChmod(text), 0o600, false)).toBe(mode);
  });

  it.each(['64a', '10000', '8', 'u+q', 'x=r'])('rejects %s with BuildKit’s message', (text) => {
    expect(() => parseChmod(text)).toThrow(`invalid chmod parameter: '${text}'. it should be octal string and between 0 and 07777`);
  });

  // The symbolic forms must agree with the real chmod(1) on files and directories.
  it.each(['go-w', 'u=rw,g=r,o=r', 'a+X', 'u+rw,g+r,o-x,o+w', '+x', 'g=u', 'o=', 'u+s,g+s,+t', 'a-x,u+X'])('symbolic %s matches chmod(1)', (text) => {
    const dir = tempDir();
    for (const [name, start, isDir] of [
      ['f644', 0o644, false],
      ['f755', 0o755, false],
      ['d755', 0o755, true],
      ['d700', 0o700, true],
    ] as const) {
      const file = path.join(dir, name);
      if (isDir) mkdirSync(file);
      else writeFileSync(file, '');
      chmodSync(file, start);
      execFileSync('chmod', [text, file]);
      expect([name, modeFor(parseChmod(text), start, isDir)]).toEqual([name, statSync(file).mode & 0o7777]);
    }
  });
});

describe('--chown', () => {
  const passwd = 'root:x:0:0::/root:/bin/sh\ndaemon:x:1:1::/:/bin/false\nuser:x:1000:1001::/home/user:/bin/sh\n';
  const group = 'root:x:0:\ndaemon:x:1:\nusers:x:1001:\nnogroup:x:65534:\n';
  it.each([
    ['daemon', { uid: 1, gid: 1 }],
    ['user', { uid: 1000, gid: 1001 }],
    ['1000', { uid: 1000, gid: 1000 }],
    ['1000:nogroup', { uid: 1000, gid: 65534 }],
    ['user:0', { uid: 1000, gid: 0 }],
    ['100:200', { uid: 100, gid: 200 }],
    ['root:root', { uid: 0, gid: 0 }],
  ])('%s', (spec, expected) => {
    expect(resolveChown(spec, passwd, group)).toEqual(expected);
  });

  it.each([
    ['ghost', '--chown: unable to find user ghost: no matching entries in passwd file'],
    ['user:ghosts', '--chown: unable to find group ghosts: no matching entries in group file'],
  ])('fails for %s', (spec, message) => {
    expect(() => resolveChown(spec, passwd, group)).toThrow(message);
  });
});
