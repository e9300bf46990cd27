import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readOwnTextIfExists, readTextIfExists } from '../../src/util/absent.js';
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
