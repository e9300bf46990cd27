/**
 * `npm run bench` is not part of the test command, so a rename in src/ can break it unseen: every
 * bench module must load against the built library and export its entry point.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { projectRoot } from './helpers/shared.js';

const bench = path.join(projectRoot, 'bench');
// run.mjs runs everything when loaded; the others only define functions.
const modules = readdirSync(bench).filter((name) => name.endsWith('.mjs') && name !== 'run.mjs');

describe('bench modules', () => {
  it('lists them', () => expect(modules.length).toBeGreaterThanOrEqual(8));

  it.each(modules)('%s loads and exports functions', async (name) => {
    const loaded = (await import(pathToFileURL(path.join(bench, name)).href)) as Record<string, unknown>;
    const exported = Object.entries(loaded).filter(([, value]) => typeof value === 'function');
    expect(exported.length, `${name} exports no function`).toBeGreaterThan(0);
  });
});
