/**
 * What Node cannot do on a filesystem: create device nodes and whiteouts (mknod) and read or write
 * extended attributes. The diff side's only tools (`mknod` from coreutils, `getfattr` and `setfattr`
 * from attr, run through `tool-runner.ts`), kept in one place so the cost and the dependency are visible.
 */
import { UnavailableError } from '../errors.js';
import { missingTool, runTool, runToolChecked } from './tool-runner.js';

/** Creates a character or block device, or a FIFO. An overlay whiteout is a character device 0/0. */
export async function mknod(file: string, type: 'c' | 'b' | 'p', major = 0, minor = 0): Promise<void> {
  await runToolChecked('mknod', type === 'p' ? [file, 'p'] : [file, type, String(major), String(minor)]);
}

/** Sets an extended attribute (without following a symlink). */
export async function setXattr(file: string, name: string, value: Buffer): Promise<void> {
  await runToolChecked('setfattr', ['-h', '-n', name, '-v', `0x${value.toString('hex')}`, file]);
}

/**
 * Every extended attribute matching `pattern` under `dir`, recursively, in one process:
 * absolute path → attribute name → value.
 */
export async function xattrsUnder(dir: string, pattern = '.'): Promise<Map<string, Map<string, Buffer>>> {
  const { code, stdout, stderr } = await runTool('getfattr', ['-R', '-h', '-d', '-e', 'hex', '-m', pattern, '--absolute-names', dir]);
  // getfattr exits non-zero when some files have no attributes but still prints the rest; a
  // missing getfattr must not pass for a tree without attributes.
  if (code === 127) throw missingTool('getfattr');
  // Exit 1 with output is "some files have no attributes"; without output it is a real failure.
  if (code !== 0 && stdout.length === 0 && stderr.trim() !== '') throw new UnavailableError(`getfattr failed: ${stderr.trim()}`);
  const out = stdout.toString('latin1');
  const result = new Map<string, Map<string, Buffer>>();
  let current: Map<string, Buffer> | undefined;
  for (const line of out.split('\n')) {
    if (line.startsWith('# file: ')) {
      current = new Map();
      result.set(
        Buffer.from(line.slice(8), 'latin1')
          .toString('utf8')
          .replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))),
        current,
      );
    } else if (current && line.includes('=')) {
      const eq = line.indexOf('=');
      const value = line.slice(eq + 1);
      current.set(
        line.slice(0, eq),
        value.startsWith('0x') ? Buffer.from(value.slice(2), 'hex') : Buffer.from(value.replace(/^"|"$/g, ''), 'latin1'),
      );
    }
  }
  return result;
}
