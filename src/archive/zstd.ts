/**
 * zstd through Debian's `zstd` command: Node 20's zlib has no zstd (it arrives in Node 22.15), and
 * a native addon would be a build dependency. The command streams stdin to stdout on its own
 * threads (`-T0`); its output depends only on the input, level and version, not on the thread
 * count. A missing command is a one-line error with the package to install.
 */
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { FailedPreconditionError, InvalidArgumentError } from '../errors.js';
import { missingTool } from '../util/tool-runner.js';

/** zstd's default level, which BuildKit uses too. */
export const ZSTD_DEFAULT_LEVEL = 3;

/** A zstd compressor (levels 1–19; 20–22 are refused as needing `--ultra` memory). */
export function zstdCompress(level = ZSTD_DEFAULT_LEVEL): Duplex {
  if (!Number.isInteger(level) || level < 1 || level > 19) throw new InvalidArgumentError(`zstd compression level ${level} is out of range (1-19)`);
  return zstdProcess(['-q', '-c', '-T0', `-${level}`], 'compress');
}

/** A zstd decompressor. */
export function zstdDecompress(): Duplex {
  return zstdProcess(['-q', '-d', '-c'], 'decompress');
}

/**
 * The command as a duplex stream: writes go to its stdin, its stdout is read. The readable side
 * ends only once the process has exited 0, so a failure (bad input) is an error, never a short
 * read.
 */
function zstdProcess(args: string[], what: string): Duplex {
  const child = spawn('zstd', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  const duplex = new Duplex({
    write(chunk: Buffer, _encoding, done): void {
      if (child.stdin.write(chunk)) done();
      else child.stdin.once('drain', () => done());
    },
    final(done): void {
      child.stdin.end(done);
    },
    read(): void {
      child.stdout.resume();
    },
    destroy(err, done): void {
      // Destroyed early (abort, a failed consumer): the process goes too.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      done(err);
    },
  });
  child.stdout.on('data', (chunk: Buffer) => {
    if (!duplex.push(chunk)) child.stdout.pause();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // A process that stops reading (it failed) makes writes fail with EPIPE; its exit status says why.
  child.stdin.on('error', () => undefined);
  child.once('error', (err: NodeJS.ErrnoException) =>
    duplex.destroy(
      err.code === 'ENOENT'
        ? missingTool('zstd', { purpose: `zstd layers ${what === 'compress' ? 'are compressed' : 'are read'} with it` })
        : new FailedPreconditionError(`cannot run zstd: ${err.message}`),
    ),
  );
  child.once('close', (code, signal) => {
    if (code === 0) duplex.push(null);
    else if (!duplex.destroyed)
      duplex.destroy(new InvalidArgumentError(`zstd could not ${what}: ${stderr.trim().split('\n').pop() || `exit ${code ?? signal}`}`));
  });
  return duplex;
}
