/**
 * `--ssh`: the SSH agents `RUN --mount=type=ssh` forwards, by id, as buildx takes them:
 * `default` (the agent of `$SSH_AUTH_SOCK`), `ID=SOCKET` (an agent's socket) or
 * `ID=KEY[,KEY…]` (private key files, which a private `ssh-agent` started for the build holds, so
 * the keys never enter a step: only the socket is bound into it). The agent is stopped when the
 * build ends.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { statIfExists } from '../util/absent.js';
import path from 'node:path';
import { promisify } from 'node:util';
import { InvalidArgumentError, UnavailableError } from '../errors.js';
import { missingTool } from '../util/tool-runner.js';
import { makeScratch } from '../util/scratch.js';

const run = promisify(execFile);

/** One `--ssh` value: an id and the socket or key files behind it (none: `$SSH_AUTH_SOCK`). */
export interface SshSpec {
  id: string;
  paths: string[];
}

/** Parses `--ssh default`, `--ssh ID=SOCKET`, `--ssh ID=KEY[,KEY…]`. */
export function parseSsh(text: string): SshSpec {
  const eq = text.indexOf('=');
  const id = eq < 0 ? text : text.slice(0, eq);
  if (!/^[A-Za-z0-9_.-]+$/.test(id)) throw new InvalidArgumentError(`invalid --ssh "${text}": expected default, ID=SOCKET or ID=KEY[,KEY]`);
  const paths = eq < 0 ? [] : text.slice(eq + 1).split(',');
  if (paths.some((p) => p === '')) throw new InvalidArgumentError(`invalid --ssh "${text}": an empty path`);
  return { id, paths };
}

/** The agents of a build, open until `close()`. */
export interface SshAgents {
  sockets: Record<string, string>;
  close(): Promise<void>;
}

/** Resolves every spec to a socket, starting an agent for key files. */
export async function openSshAgents(specs: readonly SshSpec[], root: string, signal?: AbortSignal): Promise<SshAgents> {
  const sockets: Record<string, string> = {};
  const started: Array<{ child: ChildProcess; dir: string }> = [];
  const close = async (): Promise<void> => {
    for (const { child, dir } of started.splice(0)) {
      child.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    }
  };
  try {
    for (const spec of specs) {
      if (spec.paths.length === 0) {
        const socket = process.env.SSH_AUTH_SOCK;
        if (!socket) throw new InvalidArgumentError(`--ssh ${spec.id}: invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set`);
        sockets[spec.id] = await checkedSocket(spec.id, socket);
        continue;
      }
      const first = spec.paths[0] as string;
      const info = await statIfExists(first);
      if (!info) throw new InvalidArgumentError(`--ssh ${spec.id}: ${first} not found`);
      if (info.isSocket() && spec.paths.length === 1) {
        sockets[spec.id] = path.resolve(first);
        continue;
      }
      const agent = await startAgent(root, signal);
      started.push(agent);
      for (const key of spec.paths) await addKey(agent.socket, spec.id, key);
      sockets[spec.id] = agent.socket;
    }
    return { sockets, close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function checkedSocket(id: string, socket: string): Promise<string> {
  const info = await statIfExists(socket);
  if (!info?.isSocket()) throw new InvalidArgumentError(`--ssh ${id}: ${socket} is not a socket`);
  return path.resolve(socket);
}

/** Why `--ssh ID=KEY` needs `ssh-agent` and `ssh-add`, for the error when one is missing. */
const KEYS_PURPOSE = '--ssh with key files holds them in a private ssh-agent';

/** A private `ssh-agent` in the foreground (`-D`), its socket in a scratch directory of the state root. */
async function startAgent(root: string, signal?: AbortSignal): Promise<{ child: ChildProcess; dir: string; socket: string }> {
  const dir = await makeScratch(root, 'ssh');
  const socket = path.join(dir, 'agent.sock');
  const child = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore', ...(signal ? { signal } : {}) });
  const failed = new Promise<never>((_, reject) =>
    child.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? missingTool('ssh-agent', { purpose: KEYS_PURPOSE }) : err)),
  );
  failed.catch(() => undefined); // observed by the race below
  try {
    // The agent makes its socket as it starts listening.
    for (let i = 0; i < 200; i++) {
      if ((await statIfExists(socket))?.isSocket()) return { child, dir, socket };
      await Promise.race([new Promise((r) => setTimeout(r, 10)), failed]);
    }
    throw new UnavailableError('--ssh: ssh-agent did not start');
  } catch (err) {
    // Not yet the caller's to close: nothing of a failed start may stay behind.
    child.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function addKey(socket: string, id: string, key: string): Promise<void> {
  // A key with a passphrase asks on the terminal as ssh-add does (no graphical askpass); without one it fails in one line.
  const env = { ...process.env, SSH_AUTH_SOCK: socket, SSH_ASKPASS_REQUIRE: 'never' };
  await run('ssh-add', ['-q', key], { env }).catch((err: { code?: unknown; stderr?: string; message: string }) => {
    if (err.code === 'ENOENT') throw missingTool('ssh-add', { purpose: KEYS_PURPOSE });
    const detail = (err.stderr ?? err.message).trim().split('\n').pop() ?? '';
    throw new InvalidArgumentError(`--ssh ${id}: cannot load the key ${key}: ${detail}`);
  });
}
