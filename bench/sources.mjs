// The source files the build scenarios copy: `files` text files, each the base64 of `bytes`
// random bytes, spread over 20 packages under `src/` (`src/pkg<i % 20>/file<i>.js`), as a project's tree is.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function writeSources(dir, files, bytes = 4096) {
  for (let i = 0; i < files; i++) {
    const sub = path.join(dir, 'src', `pkg${i % 20}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(path.join(sub, `file${i}.js`), randomBytes(bytes).toString('base64'));
  }
}
