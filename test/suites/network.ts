/**
 * The network conformance suite: what every `NetworkProvider` must do, checked through the
 * contract and real runc containers (the `RuncExecutor` a build uses) joined to the namespaces it
 * prepares. Which answers are right depends on the mode, so each implementation passes its own
 * (`NetworkAnswers`): the interfaces a process sees, whether a server on the host's 127.0.0.1 or on
 * the host's own address is reached, the resolv.conf. What holds for all: loopback works inside,
 * each step's namespace is its own, and release, close and an abort leave nothing — no namespace
 * (no mount of its file, no process in it), no helper process, no file in the state root.
 */
import { readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { applyLayer } from '../../src/diff/applier.js';
import type { NetworkProvider, StepNetwork } from '../../src/network/network.js';
import { removeTree } from '../../src/runtime/mount.js';
import { RuncExecutor } from '../../src/runtime/runc.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import { leftovers, NOTHING_LEFT, processesNaming } from '../helpers/netns-leftovers.js';
import { busyboxLayer } from '../helpers/oci-image.js';
import { freePort } from '../helpers/ports.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';
import { primaryAddress } from '../helpers/host-address.js';

/** What a process inside gets from a server on the host: its answer, or how connecting failed. */
export type Reach = 'reached' | 'refused' | 'unreachable';

/** One implementation's answers to the suite's questions. */
export interface NetworkAnswers {
  /**
   * The namespace a step is given: the host's; a new one runc makes per container; or one a file
   * holds, made by the provider, that runc joins.
   */
  namespace: 'host' | 'new' | 'file';
  /** The interfaces a process sees, sorted; `host`: the host's own. */
  interfaces: readonly string[] | 'host';
  /** Helper processes a step's namespace has while it is held (slirp4netns, pasta). */
  helpers: number;
  /** The step's /etc/resolv.conf when the host's is `HOST_RESOLV_CONF`. */
  resolvConf: string;
  /** A server listening on the host's 127.0.0.1. */
  hostLoopback: Reach;
  /** A server listening on all the host's addresses, asked at the host's first non-loopback IPv4 address. */
  hostAddress: Reach;
}

/** The host resolv.conf the providers are given: a loopback resolver (systemd-resolved's), another, a search and options line. */
export const HOST_RESOLV_CONF = '# the host’s\nnameserver 127.0.0.53\nnameserver 192.0.2.1\nsearch build.test\noptions ndots:2\n';

const PATH = 'PATH=/bin';
const ROOT = { uid: 0, gid: 0, additionalGids: [0] };
/** /etc/group of the busybox test image (test/helpers/oci-image.ts), served by a process inside. */
const GROUP = 'root:x:0:\nwheel:x:10:root\nnogroup:x:65534:\n';

export function networkSuite(
  name: string,
  make: (options: { root: string; hostResolvConf: string }) => NetworkProvider,
  answers: NetworkAnswers,
): void {
  const tempDir = useTempDirs('tsbuild-netsuite-');
  const cleanups: Array<() => Promise<unknown>> = [];
  /** The runner of the test's containers, made on its first run. */
  let runner: Promise<(network: StepNetwork, script: string) => Promise<{ code: number; output: string }>> | undefined;
  // Runs before the temp dirs go (vitest runs after-hooks in reverse): nothing may stay mounted there.
  afterEach(async () => {
    runner = undefined;
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A provider on a fresh state root, closed after the test. */
  function provider(): { provider: NetworkProvider; root: string } {
    const root = tempDir();
    const hostResolvConf = path.join(tempDir(), 'resolv.conf');
    writeFileSync(hostResolvConf, HOST_RESOLV_CONF);
    const made = make({ root, hostResolvConf });
    cleanups.push(async () => {
      try {
        await made.close();
      } finally {
        // Even when an implementation fails to clean up (the test has said so): no helper or mount outlives the test.
        for (const helper of processesNaming(root)) {
          try {
            process.kill(Number(helper.split(' ')[0]), 'SIGKILL');
          } catch {
            // It exited meanwhile.
          }
        }
        await removeTree(root);
      }
    });
    return { provider: made, root };
  }

  /** Runs busybox `sh -c script` in `network` through runc; its exit code and output. A test's first run unpacks busybox. */
  function run(network: StepNetwork, script: string): Promise<{ code: number; output: string }> {
    runner ??= (async () => {
      const state = tempDir();
      const snaps = new OverlaySnapshotter(state);
      await snaps.prepare('unpack');
      await applyLayer(Readable.from([(await busyboxLayer()).gz]), await snaps.upperDir('unpack'), { mode: 'overlay' });
      await snaps.commit('base', 'unpack');
      const executor = new RuncExecutor(state);
      let runs = 0;
      return async (step, text) => {
        const key = `run-${++runs}`;
        let output = '';
        try {
          const status = await executor.run(
            { args: ['/bin/sh', '-c', text], env: [PATH], cwd: '/', user: ROOT },
            {
              rootfs: await snaps.prepare(key, 'base'),
              hostname: 'netsuite',
              network: step,
              security: 'sandbox',
              output: (c) => (output += c.toString()),
            },
          );
          return { code: status.exitCode, output };
        } finally {
          await snaps.remove(key);
        }
      };
    })();
    return runner.then((fn) => fn(network, script));
  }

  /** An HTTP server on the host answering `body`, closed after the test; its port. */
  async function serve(host: string, body: string): Promise<number> {
    const server = http.createServer((_req, res) => res.end(body));
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    return (server.address() as AddressInfo).port;
  }

  describe.skipIf(!isRoot)(`Network conformance: ${name}`, () => {
    it(`a process sees ${answers.interfaces === 'host' ? 'the host’s interfaces' : answers.interfaces.join(', ')}, loopback up, and the step’s resolv.conf`, async () => {
      const step = await provider().provider.prepare();
      expect(step.resolvConf).toBe(answers.resolvConf);
      const seen = await run(step, 'cat /proc/net/dev; echo --; cat /sys/class/net/lo/flags; echo --; cat /etc/resolv.conf');
      const [dev = '', flags, resolv] = seen.output.split('--\n');
      const interfaces = answers.interfaces === 'host' ? interfaceNames(readFileSync('/proc/net/dev', 'utf8')) : answers.interfaces;
      // lo's flags: IFF_UP | IFF_LOOPBACK.
      expect({ code: seen.code, interfaces: interfaceNames(dev), flags, resolv }).toEqual({
        code: 0,
        interfaces,
        flags: '0x9\n',
        resolv: answers.resolvConf,
      });
    });

    it(`a server on the host’s 127.0.0.1 is ${answers.hostLoopback}, one at its own address ${answers.hostAddress}; a server inside on 127.0.0.1 is reached`, async () => {
      const address = primaryAddress();
      const loopbackPort = await serve('127.0.0.1', 'host loopback\n');
      const wildcardPort = await serve('0.0.0.0', 'host address\n');
      const step = await provider().provider.prepare();
      // A port free on the host too: on the host's network a server inside shares the host's ports.
      const inside = await freePort();
      const script = [
        fetchLine(`http://127.0.0.1:${loopbackPort}/`),
        fetchLine(`http://${address}:${wildcardPort}/`),
        `busybox httpd -f -p 127.0.0.1:${inside} -h /etc & server=$!`,
        `for i in $(busybox seq 50); do busybox wget -q -O - http://127.0.0.1:${inside}/group 2>/dev/null && break; busybox sleep 0.1; done`,
        'kill $server',
      ].join('\n');
      const expected = [
        reachText(answers.hostLoopback, '127.0.0.1', 'host loopback\n'),
        reachText(answers.hostAddress, address, 'host address\n'),
        GROUP,
      ];
      expect(await run(step, script)).toEqual({ code: 0, output: expected.join('') });
    });

    it(
      answers.namespace === 'host' ? 'every step is on the host’s namespace' : `each step gets a namespace of its own (${answers.namespace})`,
      async () => {
        const { provider: made } = provider();
        const [first, second] = [await made.prepare(), await made.prepare()];
        // What the processes inside are in, beside the host's (this test's) namespace.
        const host = readlinkSync('/proc/self/ns/net');
        // Both at once (each stays a while), so that a namespace number cannot be freed and reused.
        const inside = await Promise.all([first, second].map((step) => run(step, 'busybox readlink /proc/self/ns/net; busybox sleep 1')));
        const seen = inside.map(({ code, output }) => (code === 0 ? output.trim() : `exit ${code}: ${output}`));
        const given = [first, second].map((step) => (typeof step.namespace === 'string' ? step.namespace : 'file'));
        if (answers.namespace === 'host') {
          expect({ given, seen }).toEqual({ given: ['host', 'host'], seen: [host, host] });
          return;
        }
        expect({ given, distinct: new Set([host, ...seen]).size }).toEqual({ given: [answers.namespace, answers.namespace], distinct: 3 });
        // A file's namespace is the one runc joined.
        const files = [first, second].flatMap((step) => (typeof step.namespace === 'string' ? [] : [statSync(step.namespace.path).ino]));
        expect(files.map((ino) => `net:[${ino}]`)).toEqual(answers.namespace === 'file' ? seen : []);
      },
    );

    it(`while held, a step’s namespace has ${answers.helpers} helper process(es); release (twice) and close leave nothing`, async () => {
      const { provider: made, root } = provider();
      const step = await made.prepare();
      const namespace = typeof step.namespace === 'string' ? undefined : step.namespace.path;
      if (namespace === undefined) {
        // The host's namespace, or one runc makes: nothing is made for the step.
        expect({ helpers: processesNaming(root), left: await leftovers(root) }).toEqual({ helpers: [], left: NOTHING_LEFT });
      } else {
        const dir = path.dirname(namespace);
        const id = statSync(namespace).ino;
        expect(processesNaming(dir)).toHaveLength(answers.helpers);
        await step.release();
        await step.release();
        expect({
          mounted: (await leftovers(root)).mounts.includes(namespace),
          helpers: processesNaming(dir),
          files: entriesOf(path.dirname(dir)).includes(path.basename(dir)),
          inNamespace: processesIn(id),
        }).toEqual({
          mounted: false,
          helpers: [],
          files: false,
          inNamespace: [],
        });
      }
      await made.close();
      expect(await leftovers(root)).toEqual(NOTHING_LEFT);
    });

    it('close releases the steps still held, and a closed provider prepares nothing', async () => {
      const { provider: made, root } = provider();
      const steps = [await made.prepare(), await made.prepare()];
      const ids = steps.flatMap((step) => (typeof step.namespace === 'string' ? [] : [statSync(step.namespace.path).ino]));
      expect(ids).toHaveLength(answers.namespace === 'file' ? 2 : 0);
      await made.close();
      expect({ left: await leftovers(root), inNamespaces: ids.flatMap(processesIn) }).toEqual({ left: NOTHING_LEFT, inNamespaces: [] });
      await expect(made.prepare()).rejects.toThrow(`network provider is closed`);
      expect(await leftovers(root)).toEqual(NOTHING_LEFT);
    });

    it('an aborted prepare rejects with the signal’s reason and makes nothing', async () => {
      const { provider: made, root } = provider();
      await expect(made.prepare(AbortSignal.abort(new Error('build cancelled')))).rejects.toThrow('build cancelled');
      expect(await leftovers(root)).toEqual(NOTHING_LEFT);
    });
  });
}

/** One line of the script: `busybox wget` of `url`, its body or its error and `(failed)`. */
function fetchLine(url: string): string {
  return `busybox timeout 10 busybox wget -q -O - ${url} 2>&1 || echo "(failed)"`;
}

/** What `fetchLine` prints for `reach` to `address`. */
function reachText(reach: Reach, address: string, body: string): string {
  if (reach === 'reached') return body;
  const cause = reach === 'refused' ? 'Connection refused' : 'Network is unreachable';
  return `wget: can't connect to remote host (${address}): ${cause}\n(failed)\n`;
}

/** Interface names in /proc/net/dev text, sorted. */
function interfaceNames(procNetDev: string): string[] {
  return procNetDev
    .split('\n')
    .slice(2)
    .map((line) => line.split(':')[0]?.trim() ?? '')
    .filter((entry) => entry !== '')
    .sort();
}

/** The pids of processes in the network namespace `id`. */
function processesIn(id: number): string[] {
  return readdirSync('/proc').filter((pid) => {
    if (!/^\d+$/.test(pid)) return false;
    try {
      return readlinkSync(`/proc/${pid}/ns/net`) === `net:[${id}]`;
    } catch {
      return false; // gone meanwhile, or not ours to read
    }
  });
}

function entriesOf(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
