/**
 * What Node cannot do on a filesystem: create device nodes and whiteouts (mknod) and read or write
 * extended attributes. The diff side's only shell-outs (`mknod` from coreutils, `getfattr` and
 * `setfattr` from attr), kept in one place so the cost and the dependency are visible.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { TsbuildError } from '../errors.js';

const run = promisify(execFile);

async function sh(program: string, args: string[]): Promise<string> {
  try {
    return (await run(program, args, { maxBuffer: 256 * 1024 * 1024, encoding: 'latin1' })).stdout;
  } catch (err) {
    const stderr = ((err as { stderr?: string }).stderr ?? '').trim();
    throw new TsbuildError('unavailable', `${program} failed: ${stderr || (err as Error).message}`, { cause: err });
  }
}

/** Creates a character or block device, or a FIFO. An overlay whiteout is a character device 0/0. */
export async function mknod(file: string, type: 'c' | 'b' | 'p', major = 0, minor = 0): Promise<void> {
  await sh('mknod', type === 'p' ? [file, 'p'] : [file, type, String(major), String(minor)]);
}

/** Sets an extended attribute (without following a symlink). */
export async function setXattr(file: string, name: string, value: Buffer): Promise<void> {
  await sh('setfattr', ['-h', '-n', name, '-v', `0x${value.toString('hex')}`, file]);
}

/**
 * Every extended attribute matching `pattern` under `dir`, recursively, in one process:
 * absolute path → attribute name → value.
 */
export async function xattrsUnder(dir: string, pattern = '.'): Promise<Map<string, Map<string, Buffer>>> {
  const out = await sh('getfattr', ['-R', '-h', '-d', '-e', 'hex', '-m', pattern, '--absolute-names', dir]).catch((err: unknown) => {
    // getfattr exits non-zero when some files have no attributes but still prints the rest.
    const stdout = ((err as { cause?: { stdout?: string } }).cause?.stdout ?? '') as string;
    return stdout;
  });
  const result = new Map<string, Map<string, Buffer>>();
  let current: Map<string, Buffer> | undefined;
  for (const line of out.split('\n')) {
    if (line.startsWith('# file: ')) {
      current = new Map();
      result.set(Buffer.from(line.slice(8), 'latin1').toString('utf8').replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))), current);
    } else if (current && line.includes('=')) {
      const eq = line.indexOf('=');
      const value = line.slice(eq + 1);
      current.set(line.slice(0, eq), value.startsWith('0x') ? Buffer.from(value.slice(2), 'hex') : Buffer.from(value.replace(/^"|"$/g, ''), 'latin1'));
    }
  }
  return result;
}
