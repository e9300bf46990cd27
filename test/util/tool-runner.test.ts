import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTool, runToolChecked } from '../../src/util/tool-runner.js';
import { projectRoot } from '../helpers/shared.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-tools-test-');

/** The helper shells this process started (their command line names them `tsbuild-tools`). */
function helperShells(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return ppid === process.pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('tsbuild-tools');
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function until(check: () => boolean): Promise<boolean> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  return check();
}

describe('runTool', () => {
  it('reports the exit status, stdout bytes and stderr of a tool', async () => {
    const result = await runTool('sh', ['-c', 'printf "a\\000b"; echo problem >&2; exit 3']);
    expect([result.code, [...result.stdout], result.stderr]).toEqual([3, [0x61, 0, 0x62], 'problem\n']);
  });

  it.each([
    ['quotes, spaces and shell syntax', ["it's", 'a b', '$HOME', '`id`', '*', '"', '\\', '; rm -rf x'], 'it\'s|a b|$HOME|`id`|*|"|\\|; rm -rf x|'],
    ['a newline (run directly, the line protocol cannot carry it)', ['a\nb', 'c'], 'a\nb|c|'],
    ['an empty argument', ['', 'x'], '|x|'],
  ])('passes arguments with %s literally', async (_name, args, expected) => {
    const result = await runTool('printf', ['%s|', ...args]);
    expect([result.code, result.stdout.toString('utf8')]).toEqual([0, expected]);
  });

  it('reports a missing tool as status 127', async () => {
    expect((await runTool('no-such-tool-here', [])).code).toBe(127);
  });

  it('keeps the outputs of many tools running at once apart', async () => {
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => runTool('sh', ['-c', `sleep 0.0$((${i} % 5)); echo out-${i}; echo err-${i} >&2; exit $((${i} % 3))`])),
    );
    expect(results.map((r) => `${r.code} ${r.stdout.toString().trim()} ${r.stderr.trim()}`)).toEqual(
      Array.from({ length: 40 }, (_, i) => `${i % 3} out-${i} err-${i}`),
    );
  });

  it('reports a tool whose output files are gone as empty output with its status', async () => {
    await runTool('true', []);
    const [shell] = helperShells();
    const dir = readFileSync(`/proc/${shell}/cmdline`, 'utf8').split('\0').filter(Boolean).pop() as string;
    expect(path.basename(dir)).toMatch(/^tsbuild-tools-/);
    const result = await runTool('sh', ['-c', `echo lost; rm -f ${dir}/*.out ${dir}/*.err; exit 4`]);
    expect([result.code, result.stdout.length, result.stderr]).toEqual([4, 0, '']);
  });

  it('runToolChecked throws the tool and its stderr on a non-zero status', async () => {
    await expect(runToolChecked('sh', ['-c', 'echo bad thing >&2; exit 1'], 'the step')).rejects.toThrow('the step failed: bad thing');
    expect((await runToolChecked('echo', ['fine'])).toString()).toBe('fine\n');
  });

  it('fails what was waiting when its shell is killed (without running it twice), and starts another for the next tool', async () => {
    const waiting = runTool('sh', ['-c', 'sleep 0.3; echo done']);
    const shells = helperShells();
    expect(shells.length).toBe(1);
    process.kill(shells[0] as number, 'SIGKILL');
    const result = await waiting;
    expect([result.code, result.stdout.toString(), result.stderr]).toEqual([126, '', 'the shell running sh was killed\n']);
    expect((await runTool('echo', ['again'])).stdout.toString()).toBe('again\n');
    expect(helperShells().length).toBe(1);
  });

  it('leaves no shell and no directory behind when its process is killed', async () => {
    const tmp = tempDir();
    const script = `import { runTool } from ${JSON.stringify(path.join(projectRoot, 'dist/util/tool-runner.js'))};
      await runTool('true', []);
      process.stdout.write('ran\\n');
      setInterval(() => undefined, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, TMPDIR: tmp },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    expect(readdirSync(tmp).filter((name) => name.startsWith('tsbuild-tools-')).length).toBe(1);
    child.kill('SIGKILL');
    // The shell sees its stdin close, removes its directory and ends.
    expect(await until(() => readdirSync(tmp).length === 0)).toBe(true);
  });
});
