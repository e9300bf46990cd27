/**
 * A port on 127.0.0.1 where connections never complete: a listening socket (python3's, since
 * Node always accepts) with a backlog of 0 that never calls accept, its one queue slot taken by a
 * filler connection. The kernel drops further SYNs, so a client's connect hangs exactly as it
 * does towards a firewalled registry, which is what a connect timeout is for.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';

export interface UnacceptingListener {
  host: string;
  stop(): Promise<void>;
}

const LISTENER = [
  'import socket, sys',
  's = socket.socket()',
  's.bind(("127.0.0.1", 0))',
  's.listen(0)',
  'print(s.getsockname()[1], flush=True)',
  'sys.stdin.read()',
].join('\n');

export async function startUnacceptingListener(): Promise<UnacceptingListener> {
  const child = spawn('python3', ['-c', LISTENER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', (data: Buffer) => resolve(Number(data.toString().trim())));
  });
  const filler = net.connect(port, '127.0.0.1');
  filler.on('error', () => undefined);
  await new Promise<void>((resolve) => filler.once('connect', resolve));
  return {
    host: `127.0.0.1:${port}`,
    stop: async () => {
      filler.destroy();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      await exited;
    },
  };
}
