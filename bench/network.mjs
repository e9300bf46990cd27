// What a RUN step's own network namespace costs (src/network/):
//
// 1. Setup: `prepare()` and `release()` of each mode's provider, 20 times after two warm-ups
//    (medians), and pasta (passt) doing the same job where it is installed, for the choice between
//    the two user-mode stacks.
// 2. Per step: `runc run /bin/true` from a busybox bundle, alone on the host's network, and as a
//    whole step on `none` and `default` (prepare, run with the namespace in config.json, release),
//    alternating so a busy machine slows all alike.
// 3. Throughput: a 100 MB file from `busybox httpd` bound to the host's primary (non-loopback)
//    address, fetched with busybox wget from the host's namespace and from a `default` namespace
//    (and a pasta one), 10 times each. The primary address, not a dummy or veth interface: the
//    host's loopback is exactly what a `default` step must not reach, while a local address of the
//    host is reachable and delivered by the kernel without leaving the machine, so the number is
//    the user-mode stack's alone; and nothing global (an interface) has to be created.
//
//   npm run build && node bench/network.mjs     (root; runc, slirp4netns, busybox-static)
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeIsolatedNamespace } from '../dist/network/isolated-namespace.js';
import { createNetworkProvider } from '../dist/network/providers.js';
import { toRuntimeSpec } from '../dist/runtime/oci-spec.js';

const runs = Number(process.env.BENCH_RUNS ?? 20);
const downloads = Number(process.env.BENCH_DOWNLOADS ?? 10);
const DOWNLOAD_BYTES = 100 * 1000 * 1000;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const stats = (xs) => ({ medianMs: median(xs), minMs: Math.min(...xs), maxMs: Math.max(...xs) });

async function timed(fn) {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, value };
}

function hardOpenFiles() {
  return Number(/^Max open files\s+\S+\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? 1024);
}

/**
 * A bundle running /bin/true; `namespace` (a file) is joined as the network namespace, `true`
 * makes runc create one (what `--network=none` is).
 */
function writeBundle(dir, namespace) {
  const rootfs = path.join(dir, 'rootfs');
  for (const sub of ['bin', 'proc', 'dev', 'sys']) mkdirSync(path.join(rootfs, sub), { recursive: true });
  copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
  symlinkSync('busybox', path.join(rootfs, 'bin', 'true'));
  const spec = toRuntimeSpec(
    { args: ['/bin/true'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] } },
    { rootfs, hostname: 'bench', networkNamespace: 'host', security: 'sandbox', mounts: [], maxOpenFiles: hardOpenFiles() },
  );
  if (namespace) spec.linux.namespaces.push(namespace === true ? { type: 'network' } : { type: 'network', path: namespace });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec));
}

function runc(bundle, state, id) {
  return new Promise((resolve, reject) => {
    const child = spawn('runc', ['--root', state, 'run', '--bundle', bundle, id], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`runc exited ${code}`))));
  });
}

/** The host's first non-loopback IPv4 address. */
function primaryAddress() {
  const found = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a.family === 'IPv4' && !a.internal);
  if (!found) throw new Error('no non-loopback IPv4 address to serve the download from');
  return found.address;
}

function has(program) {
  try {
    execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * pasta attached to a namespace file, configured like our slirp4netns (10.0.2.100/24, gateway
 * 10.0.2.2, no port forwarding either way, no gateway mapping to the host): what the choice was
 * measured against. It forks into the background once the namespace is configured.
 */
async function pastaNamespace(dir, i) {
  const ns = path.join(dir, `pasta-ns-${i}`);
  writeFileSync(ns, '');
  execFileSync('unshare', [`--net=${ns}`, 'true']);
  const pidFile = path.join(dir, `pasta-${i}.pid`);
  const args = ['--config-net', '--netns', ns, '--runas', '0', '-a', '10.0.2.100', '-n', '24', '-g', '10.0.2.2', '-I', 'eth0'];
  args.push('-t', 'none', '-u', 'none', '-T', 'none', '-U', 'none', '--no-map-gw', '-4', '--mtu', '65520', '-P', pidFile, '-q');
  execFileSync('pasta', args, { stdio: 'ignore' });
  const pid = Number(readFileSync(pidFile, 'utf8'));
  return {
    path: ns,
    release: async () => {
      process.kill(pid, 'SIGKILL');
      while (processAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 1));
      execFileSync('umount', [ns]);
      rmSync(ns);
    },
  };
}

/** False once `pid` has exited: gone, or a zombie (pasta's daemon is reaped by init, not by us). */
function processAlive(pid) {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Seconds busybox wget takes to fetch `url` to /dev/null, in `namespace` (undefined: the host's). */
async function download(url, namespace) {
  const argv = ['busybox', 'wget', '-q', '-O', '/dev/null', url];
  const [program, ...args] = namespace ? ['nsenter', `--net=${namespace}`, ...argv] : argv;
  const { ms } = await timed(
    () =>
      new Promise((resolve, reject) => {
        const child = spawn(program, args, { stdio: 'ignore' });
        child.once('error', reject);
        child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`wget exited ${code}`))));
      }),
  );
  return ms / 1000;
}

export async function benchNetwork() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-bench-network-'));
  const root = path.join(dir, 'root');
  const state = path.join(dir, 'runc');
  const pasta = has('pasta');
  let server;
  try {
    // 1. Making and tearing down one namespace (what a provider does in the background).
    const setup = {};
    // (`none` makes nothing: runc makes its namespace with the container.)
    for (const mode of ['default']) {
      const prepare = [];
      const release = [];
      for (let i = -2; i < runs; i++) {
        const made = await timed(() => makeIsolatedNamespace(root, undefined));
        const gone = await timed(() => made.value.teardown());
        if (i < 0) continue;
        prepare.push(made.ms);
        release.push(gone.ms);
      }
      setup[mode] = { prepare: stats(prepare), release: stats(release) };
    }
    if (pasta) {
      const prepare = [];
      const release = [];
      for (let i = -2; i < runs; i++) {
        const made = await timed(() => pastaNamespace(dir, i + 2));
        const gone = await timed(() => made.value.release());
        if (i < 0) continue;
        prepare.push(made.ms);
        release.push(gone.ms);
      }
      setup['pasta (for comparison)'] = { prepare: stats(prepare), release: stats(release) };
    }

    // 2. A whole `RUN true` step per mode, and what it is measured against: runc alone on the
    //    host's network, runc creating a namespace itself, runc joining a `default` namespace made
    //    once (what sharing one namespace between the steps of a build would cost per step).
    const providers = { none: createNetworkProvider('none', { root }), default: createNetworkProvider('default', { root }) };
    const sharedProvider = createNetworkProvider('default', { root });
    const shared = await sharedProvider.prepare();
    const fixed = { host: undefined, runcNamespace: true, sharedDefault: shared.namespace.path };
    for (const [name, namespace] of Object.entries(fixed)) writeBundle(path.join(dir, `bundle-${name}`), namespace);
    const step = { host: [], runcNamespace: [], sharedDefault: [], none: [], default: [] };
    const handOut = { none: [], default: [] };
    for (let i = -2; i < runs; i++) {
      const round = {};
      for (const name of Object.keys(fixed))
        round[name] = await timed(() => runc(path.join(dir, `bundle-${name}`), state, `bench-net-${process.pid}-${name}${i + 2}`));
      for (const mode of ['none', 'default']) {
        const bundle = path.join(dir, `bundle-${mode}-${i + 2}`);
        round[mode] = await timed(async () => {
          // The provider hands out the namespace it made while the previous step ran.
          const prepared = await timed(() => providers[mode].prepare());
          handOut[mode].push(prepared.ms);
          const network = prepared.value;
          try {
            const { namespace } = network;
            writeBundle(bundle, namespace === 'host' ? undefined : namespace === 'new' ? true : namespace.path);
            await runc(bundle, state, `bench-net-${process.pid}-${mode}${i + 2}`);
          } finally {
            await network.release();
          }
        });
        rmSync(bundle, { recursive: true, force: true });
      }
      if (i < 0) continue;
      for (const [name, t] of Object.entries(round)) step[name].push(t.ms);
    }
    await sharedProvider.close();
    await providers.none.close();
    await providers.default.close();

    // 3. 100 MB through the user-mode stack.
    const address = primaryAddress();
    const www = path.join(dir, 'www');
    mkdirSync(www);
    execFileSync('sh', ['-c', 'head -c "$0" /dev/urandom > "$1"', String(DOWNLOAD_BYTES), path.join(www, 'blob')]);
    const port = 20000 + (process.pid % 20000);
    server = spawn('busybox', ['httpd', '-f', '-p', `${address}:${port}`, '-h', www], { stdio: 'ignore' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const url = `http://${address}:${port}/blob`;
    const slirp = await makeIsolatedNamespace(root, undefined);
    const pastaNs = pasta ? await pastaNamespace(dir, 'download') : undefined;
    const seconds = { host: [], default: [], ...(pastaNs ? { pasta: [] } : {}) };
    try {
      for (let i = -1; i < downloads; i++) {
        const h = await download(url);
        const d = await download(url, slirp.path);
        const p = pastaNs ? await download(url, pastaNs.path) : undefined;
        if (i < 0) continue;
        seconds.host.push(h);
        seconds.default.push(d);
        if (p !== undefined) seconds.pasta.push(p);
      }
    } finally {
      await slirp.teardown();
      await pastaNs?.release();
    }
    const throughput = Object.fromEntries(
      Object.entries(seconds).map(([name, xs]) => [
        name,
        { medianSeconds: median(xs), minSeconds: Math.min(...xs), maxSeconds: Math.max(...xs), medianMBps: DOWNLOAD_BYTES / 1e6 / median(xs) },
      ]),
    );
    return {
      scenario: 'network: RUN namespaces',
      runs,
      downloads,
      setup,
      runTrueStep: Object.fromEntries(Object.entries(step).map(([name, xs]) => [name, stats(xs)])),
      // prepare() within those steps (warm-ups included: the first has no spare yet).
      prepareInStep: { none: stats(handOut.none), default: stats(handOut.default) },
      download100MB: { from: `busybox httpd on ${address} (the host's primary address)`, ...throughput },
    };
  } finally {
    server?.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await benchNetwork();
  console.log(formatNetwork(r));
}

export function formatNetwork(r) {
  const ms = (s) => `${s.medianMs.toFixed(1)} ms`;
  const lines = [`${r.scenario} (medians of ${r.runs}; downloads: ${r.downloads})`];
  for (const [mode, s] of Object.entries(r.setup)) lines.push(`  namespace ${mode.padEnd(22)} make ${ms(s.prepare)}, tear down ${ms(s.release)}`);
  const step = r.runTrueStep;
  const plus = (s) => `${ms(s)} (+${(s.medianMs - step.host.medianMs).toFixed(1)})`;
  lines.push(
    `  RUN true: runc alone ${ms(step.host)}; runc making a namespace ${plus(step.runcNamespace)}; joining one shared default namespace ${plus(step.sharedDefault)}`,
  );
  lines.push(`            a step with its own namespace (prepare + runc + release): none ${plus(step.none)}, default ${plus(step.default)}`);
  lines.push(
    `            of which prepare() (a spare made during the previous step): none ${ms(r.prepareInStep.none)}, default ${ms(r.prepareInStep.default)}`,
  );
  const d = r.download100MB;
  const cells = Object.entries(d)
    .filter(([k]) => k !== 'from')
    .map(
      ([k, v]) => `${k} ${v.medianSeconds.toFixed(3)} s = ${v.medianMBps.toFixed(0)} MB/s (${v.minSeconds.toFixed(3)}–${v.maxSeconds.toFixed(3)} s)`,
    );
  lines.push(`  100 MB from ${d.from}: ${cells.join(', ')}`);
  return lines.join('\n');
}
