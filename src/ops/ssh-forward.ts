/**
 * The socket a `RUN --mount=type=ssh` step sees: BuildKit gives it the mount's mode, uid and gid
 * (default 0600, 0:0). Binding the host agent's socket would show the host's mode and owner, and a
 * chmod of a bind would change the host's socket (a bind shares the inode), so each step gets its
 * own socket that forwards every connection to the agent.
 */
import { chmod, chown, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { makeSystemTemp } from '../util/system-temp.js';

export interface SshSocketOptions {
  mode: number;
  uid: number;
  gid: number;
}

export interface SshForward {
  /** The socket to bind into the container. */
  socket: string;
  /** Stops forwarding and removes the socket. */
  close: () => Promise<void>;
}

/** Listens on a new socket with `options`' mode and owner, forwarding each connection to `agent`. */
export async function forwardSshAgent(agent: string, options: SshSocketOptions): Promise<SshForward> {
  // Under the system temp dir, not the state root: a unix socket path is limited to 107 bytes. Named
  // after this process, so the next command reclaims it if this one is killed (`util/system-temp.ts`).
  const dir = makeSystemTemp('ssh');
  const socket = path.join(dir, 'agent.sock');
  const connections = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(agent);
    connections.add(client).add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      connections.delete(client);
      connections.delete(upstream);
    };
    // An agent that is gone or a client that hangs up ends this one connection only, as it would
    // with the agent's own socket; the step sees the closed connection.
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socket, () => resolve());
    });
    await chown(socket, options.uid, options.gid);
    await chmod(socket, options.mode);
  } catch (err) {
    server.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    socket,
    close: async () => {
      for (const connection of connections) connection.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
