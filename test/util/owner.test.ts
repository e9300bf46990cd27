import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ownerAlive, ownerIn, ownerTag, processStartTime } from '../../src/util/owner.js';

/** Field 3 of /proc/<pid>/stat: R, S, D, Z… */
function stateOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '';
}

describe('owner tags', () => {
  it('names this process alive, and a tag with another start time or a gone pid dead', () => {
    const [pid, start] = ownerTag().split('.');
    expect(Number(pid)).toBe(process.pid);
    expect(ownerAlive(ownerTag())).toBe(true);
    expect(ownerAlive(`${pid}.${Number(start) + 1}`)).toBe(false);
    // The highest pid Linux hands out is 4194304: this one never runs.
    expect(ownerAlive('4194305.1')).toBe(false);
    expect(ownerIn(`exec-${ownerTag()}-9af0`)).toBe(ownerTag());
  });

  it('takes a running child for alive and a zombie (exited, never reaped) for dead', async () => {
    // `sh` starts a short `sleep` in the background, then becomes a long `sleep`, which never
    // waits for the short one: it stays a zombie until the long one ends.
    const parent = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const child = Number((await new Promise<Buffer>((resolve) => parent.stdout.once('data', resolve))).toString().trim());
      const start = processStartTime(child);
      expect(start).toMatch(/^\d+$/);
      expect(ownerAlive(`${child}.${start}`)).toBe(true);
      for (let i = 0; i < 100 && stateOf(child) !== 'Z'; i++) spawnSync('sleep', ['0.05']);
      expect(stateOf(child)).toBe('Z');
      expect(processStartTime(child)).toBeUndefined();
      expect(ownerAlive(`${child}.${start}`)).toBe(false);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
