import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lstatNow, readOwnTextIfExists, readRegularTextNow, readTextIfExists } from '../../src/util/absent.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-absent-');

describe('reading a file that may not be there', () => {
  // The synchronous reader (the state root's own files) answers exactly as the asynchronous one.
  it.each([
    { name: 'a file: its text', at: 'record.json', result: { text: '{"a":1}\n' } },
    { name: 'nothing there: undefined', at: 'missing.json', result: { text: undefined } },
    { name: 'a parent that is a file (ENOTDIR): undefined', at: 'record.json/inner', result: { text: undefined } },
    { name: 'a directory: its error, not "absent"', at: 'dir', result: { code: 'EISDIR' } },
  ])('$name', async ({ at, result }) => {
    const root = tempDir();
    writeFileSync(path.join(root, 'record.json'), '{"a":1}\n');
    mkdirSync(path.join(root, 'dir'));
    for (const read of [readOwnTextIfExists, readTextIfExists]) {
      const reading = read(path.join(root, at));
      if ('code' in result) await expect(reading).rejects.toMatchObject({ code: result.code });
      else await expect(reading).resolves.toBe(result.text);
    }
  });
});

describe('looking at a path in a tree an input made, synchronously', () => {
  // What an image may put where RUN reads /etc/passwd and /etc/group: only a regular file is read;
  // a FIFO answers '' at once (an asynchronous read would wait for a writer forever).
  it.each([
    { name: 'a regular file: its text', at: 'passwd', text: 'root:x:0:0::/root:/bin/sh\n', isFile: true },
    { name: 'nothing there: undefined', at: 'missing', text: undefined, isFile: undefined },
    { name: 'a parent that is a file (ENOTDIR): undefined', at: 'passwd/inner', text: undefined, isFile: undefined },
    { name: 'a FIFO: empty, without blocking', at: 'fifo', text: '', isFile: false },
    { name: 'a directory: empty', at: 'dir', text: '', isFile: false },
    { name: 'a symlink to the file: empty (never followed)', at: 'link', text: '', isFile: false },
  ])('$name', ({ at, text, isFile }) => {
    const root = tempDir();
    writeFileSync(path.join(root, 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
    mkdirSync(path.join(root, 'dir'));
    execFileSync('mkfifo', [path.join(root, 'fifo')]);
    symlinkSync('passwd', path.join(root, 'link'));
    expect(readRegularTextNow(path.join(root, at))).toBe(text);
    expect(lstatNow(path.join(root, at))?.isFile()).toBe(isFile);
  });

  it('lets every other error through', () => {
    const root = tempDir();
    // A loop is not "absent": ELOOP, as `lstatIfExists` reports it.
    symlinkSync('loop', path.join(root, 'loop'));
    expect(() => lstatNow(path.join(root, 'loop', 'x'))).toThrow(expect.objectContaining({ code: 'ELOOP' }));
  });
});
