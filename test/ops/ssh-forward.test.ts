/**
 * The per-step ssh socket: it forwards both ways to the agent, has the mode and owner asked for, is
 * in a directory named after its owner (reclaimed when that process is gone), and goes on close.
 */
import { existsSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { forwardSshAgent } from '../../src/ops/ssh-forward.js';
import { ownerTag } from '../../src/util/owner.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-sshfwd-');

describe.skipIf(!isRoot)('forwardSshAgent', () => {
  it('forwards a connection to the agent and back, with the socket mode and owner asked for', async () => {
    const agentPath = path.join(tempDir(), 'agent.sock');
    const agent = net.createServer((c) => c.on('data', (d) => c.end(`agent:${d.toString()}`))).listen(agentPath);
    await new Promise((resolve) => agent.once('listening', resolve));
    const forward = await forwardSshAgent(agentPath, { mode: 0o640, uid: 1000, gid: 1001 });
    try {
      const info = statSync(forward.socket);
      expect([info.isSocket(), info.mode & 0o777, info.uid, info.gid]).toEqual([true, 0o640, 1000, 1001]);
      // Named after this process, so that the next command reclaims it if this one is killed.
      expect(path.relative(os.tmpdir(), forward.socket)).toMatch(
        new RegExp(`^tsbuild-ssh-${ownerTag().replace('.', '\\.')}-[0-9a-f]{12}/agent\\.sock$`),
      );
      const reply = await new Promise<string>((resolve, reject) => {
        const client = net.connect(forward.socket, () => client.write('ping'));
        let text = '';
        client
          .on('data', (d) => (text += d.toString()))
          .on('end', () => resolve(text))
          .on('error', reject);
      });
      expect(reply).toBe('agent:ping');
    } finally {
      await forward.close();
      agent.close();
    }
    expect(existsSync(path.dirname(forward.socket))).toBe(false);
  });
});
