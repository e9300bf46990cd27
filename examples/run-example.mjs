// `npm run example`: builds the bundled example offline and runs what it made.
// 1. examples/base: a busybox base image from this machine's static busybox (Debian's
//    busybox-static), the binary alone as the build context, stored as example-base:busybox;
// 2. examples/app on it (the named context `base=docker-image://example-base:busybox`), stored as
//    hello:latest, its root filesystem also written to a directory;
// 3. the image's command run in that root filesystem (chroot), then how to run it with Docker.
// The state directory is tsbuild's default (TSBUILD_ROOT to change it). Needs root, as builds do.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, openSync, readSync, closeSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const project = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsbuild = path.join(project, 'bin', 'tsbuild.js');
const busybox = process.env.BUSYBOX ?? '/bin/busybox';

/** Exits with one line on stderr. */
function fail(message) {
  process.stderr.write(`npm run example: ${message}\n`);
  process.exit(1);
}

/** True when `file` is an ELF executable without a program interpreter (statically linked). */
function isStatic(file) {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(64);
    readSync(fd, head, 0, 64, 0);
    if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2) return false; // ELF, 64-bit
    const phoff = Number(head.readBigUInt64LE(32));
    const size = head.readUInt16LE(54);
    const count = head.readUInt16LE(56);
    const table = Buffer.alloc(size * count);
    readSync(fd, table, 0, table.length, phoff);
    for (let i = 0; i < count; i++) if (table.readUInt32LE(i * size) === 3) return false; // PT_INTERP
    return true;
  } finally {
    closeSync(fd);
  }
}

function run(args, options = {}) {
  process.stderr.write(`$ tsbuild ${args.join(' ')}\n`);
  const result = spawnSync(process.execPath, [tsbuild, ...args], { stdio: ['ignore', 'inherit', 'inherit'], ...options });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

if (!existsSync(busybox)) fail(`${busybox} is missing: install Debian's busybox-static (apt-get install busybox-static)`);
if (!isStatic(busybox)) fail(`${busybox} is dynamically linked: install Debian's busybox-static (apt-get install busybox-static)`);
if (process.getuid?.() !== 0) fail('building needs root (overlay mounts, runc): run it as root');

const work = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-example-'));
try {
  const baseContext = path.join(work, 'base');
  spawnSync('mkdir', [baseContext]);
  copyFileSync(busybox, path.join(baseContext, 'busybox'));
  run(['build', '-q', '-t', 'example-base:busybox', '-f', path.join(project, 'examples/base/Dockerfile'), baseContext]);

  const rootfs = path.join(work, 'rootfs');
  const base = ['--build-context', 'base=docker-image://example-base:busybox'];
  run(['build', '--progress=plain', '-t', 'hello:latest', ...base, '-o', 'type=image', '-o', `type=local,dest=${rootfs}`, 'examples/app'], {
    cwd: project,
  });
  run(['images']);

  process.stderr.write('\n$ chroot <the image root filesystem> hello   # its CMD, as user nobody\n');
  const shown = spawnSync('chroot', ['--userspec=65534:65534', rootfs, '/usr/local/bin/hello'], { stdio: 'inherit' });
  if (shown.status !== 0) fail('the image did not run');

  const docker = (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(path.join(dir, 'docker')));
  process.stderr.write(
    docker
      ? `\nWith Docker: node bin/tsbuild.js build --load -t hello:latest ${base.join(' ')} examples/app && docker run --rm hello:latest\n`
      : `\nTo run it elsewhere: node bin/tsbuild.js build ${base.join(' ')} -o type=docker,dest=- examples/app | docker load\n`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
