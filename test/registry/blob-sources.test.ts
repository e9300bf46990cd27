/** Where blobs came from: a damaged record is set aside with one warning and pushes simply upload. */
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BlobSources } from '../../src/registry/blob-sources.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-blob-sources-');
const BLOB = `sha256:${'a'.repeat(64)}`;

describe('BlobSources', () => {
  it.each([
    { name: 'cut short', text: '{"sha256:', reason: 'Unterminated string in JSON at position 9' },
    { name: 'a list where repositories belong', text: `{"${BLOB}": "registry.example/app"}`, reason: 'not what tsbuild writes there' },
  ])('a record $name: no sources, one warning, set aside; adding works again', async ({ text, reason }) => {
    const root = tempDir();
    const warnings: string[] = [];
    const sources = new BlobSources(root, (w) => warnings.push(w));
    writeFileSync(path.join(root, 'blob-sources.json'), text);
    expect(await sources.repositories(BLOB, 'registry.example')).toEqual([]);
    expect(warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `^the blob sources record ${path.join(root, 'blob-sources.json')} is corrupt \\(${reason.replace(/[()]/g, '\\$&')}\\): set aside as blob-sources\\.json\\.corrupt-\\S+; pushes upload what they could have mounted from another repository$`,
        ),
      ),
    ]);
    await sources.add([BLOB], 'registry.example', 'app');
    expect(await sources.repositories(BLOB, 'registry.example')).toEqual(['app']);
    expect(readdirSync(root).sort()).toEqual(['blob-sources.json', expect.stringMatching(/^blob-sources\.json\.corrupt-/)]);
  });
});
