/**
 * What a RUN step can reach on the default network beyond what every mode answers in the
 * conformance suite (`conformance.test.ts`), from inside real runc containers joined to the
 * namespaces the provider prepares: slirp4netns's gateway and DNS addresses, IPv6 loopback, the
 * Debian mirror by name, a loopback resolver through the forwarder, and the other steps.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNetworkProvider } from '../../src/network/providers.js';
import { stepResolvConf } from '../../src/network/resolv-conf.js';
import { startDnsServer } from '../helpers/dns-server.js';
import { NetnsContainers } from '../helpers/netns-container.js';
import { leftovers, NOTHING_LEFT, until } from '../helpers/netns-leftovers.js';
import { isRoot } from '../helpers/root.js';
import { useTempDirs } from '../helpers/tmp.js';
import { primaryAddress } from '../helpers/host-address.js';

const tempDir = useTempDirs('tsbuild-network-');
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A provider on a fresh state root, closed after the test (which then checks nothing is left). */
function provider(mode: 'default' | 'none' | 'host', root = tempDir(), extra: Parameters<typeof createNetworkProvider>[1] = { root }) {
  const made = createNetworkProvider(mode, { ...extra, root });
  cleanups.push(async () => {
    await made.close();
    expect(await leftovers(root)).toEqual(NOTHING_LEFT);
  });
  return { provider: made, root };
}

/** An HTTP server answering `body` to every request, closed after the test. */
async function serve(host: string, body: string): Promise<number> {
  const server = http.createServer((_req, res) => res.end(body));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as AddressInfo).port;
}

/** `busybox wget` of each url, each result on one line: the body, or wget's error. */
function fetchScript(urls: string[]): string {
  return urls.map((url) => `busybox timeout 10 busybox wget -q -O - ${url} 2>&1 || echo "(failed)"`).join('; ');
}

describe.skipIf(!isRoot)('RUN network namespaces (real runc, slirp4netns)', () => {
  let containers: NetnsContainers;
  beforeEach(() => {
    containers = new NetnsContainers(tempDir());
  });

  it('default: reaches the host through a non-loopback address, never through its loopback or the gateway; host mode reaches the loopback', async () => {
    const primary = primaryAddress();
    const loopbackPort = await serve('127.0.0.1', 'loopback-only\n');
    const wildcardPort = await serve('0.0.0.0', 'wildcard\n');
    const loopback6Port = await serve('::1', 'loopback6-only\n');
    const cases: Array<[url: string, onDefault: string, onHost: string]> = [
      // The namespace's own 127.0.0.1, where nothing listens.
      [`http://127.0.0.1:${loopbackPort}/`, `wget: can't connect to remote host (127.0.0.1): Connection refused\n(failed)\n`, 'loopback-only\n'],
      [`http://[::1]:${loopback6Port}/`, `wget: can't connect to remote host: Connection refused\n(failed)\n`, 'loopback6-only\n'],
      // slirp4netns would map the gateway to the host's 127.0.0.1; --disable-host-loopback refuses.
      [`http://10.0.2.2:${loopbackPort}/`, `wget: can't connect to remote host (10.0.2.2): Network is unreachable\n(failed)\n`, ''],
      [`http://10.0.2.2:${wildcardPort}/`, `wget: can't connect to remote host (10.0.2.2): Network is unreachable\n(failed)\n`, ''],
      [`http://10.0.2.3:${wildcardPort}/`, `wget: can't connect to remote host (10.0.2.3): Network is unreachable\n(failed)\n`, ''],
      // A service bound to all addresses, reached by the host's own address: as with Docker.
      [`http://${primary}:${wildcardPort}/`, 'wildcard\n', 'wildcard\n'],
    ];
    const { provider: defaults } = provider('default');
    const step = await defaults.prepare();
    const onDefault = await containers.run(step, fetchScript(cases.map(([url]) => url)));
    expect(onDefault).toEqual({ code: 0, output: cases.map(([, expected]) => expected).join('') });

    // The control: the same loopback server is there for a step on the host's network.
    const { provider: hosts } = provider('host');
    const hostCases = cases.filter(([, , onHost]) => onHost !== '');
    const onHost = await containers.run(await hosts.prepare(), fetchScript(hostCases.map(([url]) => url)));
    expect(onHost).toEqual({ code: 0, output: hostCases.map(([, , expected]) => expected).join('') });
    await step.release();
  });

  it('default: resolves the Debian mirror by name and fetches its InRelease (DNS and HTTP through slirp4netns)', async () => {
    const { uri, suite } = debianMirror();
    const { provider: defaults } = provider('default');
    const step = await defaults.prepare();
    expect(step.resolvConf).toBe(stepResolvConf('default', readFileSync('/etc/resolv.conf', 'utf8')));
    const result = await containers.run(
      step,
      `cat /etc/resolv.conf; busybox timeout 30 busybox wget -q -O - ${uri}/dists/${suite}/InRelease | busybox grep -m 2 -E '^(-----BEGIN|Codename:)'`,
    );
    expect(result).toEqual({ code: 0, output: `${step.resolvConf}-----BEGIN PGP SIGNED MESSAGE-----\nCodename: ${suite}\n` });
  });

  it('default: a loopback resolver of the host is asked through slirp4netns’s forwarder (10.0.2.3)', async () => {
    // A resolver on a loopback address, as systemd-resolved's 127.0.0.53; slirp4netns runs in a
    // private mount namespace whose /etc/resolv.conf names it (the host's file is never touched).
    const resolverAddress = `127.${Math.floor(Math.random() * 200) + 20}.${Math.floor(Math.random() * 250) + 1}.53`;
    const resolver = await startDnsServer(resolverAddress, 53, { 'probe.tsbuild.test': '198.51.100.7' });
    cleanups.push(() => resolver.close());
    const dir = tempDir();
    const hostResolv = path.join(dir, 'resolv.conf');
    writeFileSync(hostResolv, `nameserver ${resolverAddress}\noptions ndots:0\n`);
    const root = tempDir();
    const { provider: defaults } = provider('default', root, {
      root,
      hostResolvConf: hostResolv,
      slirp: {
        command: ['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'mount --bind "$0" /etc/resolv.conf && exec slirp4netns "$@"', hostResolv],
      },
    });
    const step = await defaults.prepare();
    expect(step.resolvConf).toBe('nameserver 10.0.2.3\noptions ndots:0\n');
    const result = await containers.run(step, 'busybox nslookup -type=a probe.tsbuild.test | busybox grep -A1 "^Name:"');
    expect(result).toEqual({ code: 0, output: 'Name:\tprobe.tsbuild.test\nAddress: 198.51.100.7\n' });
    expect(resolver.queries).toContain('probe.tsbuild.test 1');
  });

  it('default: two steps have separate namespaces and cannot reach each other', async () => {
    const { provider: defaults } = provider('default');
    const [first, second] = [await defaults.prepare(), await defaults.prepare()];
    const server = new AbortController();
    const serving = containers.run(first, 'exec busybox httpd -f -p 8080 -h /etc', server.signal);
    // Stopped even when an expectation fails, before the provider closes.
    cleanups.push(async () => {
      server.abort();
      await serving;
    });
    // Another container in the first step's namespace reaches the server: it is listening.
    const group = 'root:x:0:\nwheel:x:10:root\nnogroup:x:65534:\n'; // test/helpers/oci-image.ts
    expect(await until(async () => (await containers.run(first, fetchScript(['http://127.0.0.1:8080/group']))).output === group, 10_000)).toBe(true);
    const fromSecond = await containers.run(
      second,
      fetchScript(['http://10.0.2.100:8080/group', 'http://127.0.0.1:8080/group', 'http://10.0.2.2:8080/group']),
    );
    expect(fromSecond).toEqual({
      code: 0,
      output: [
        // 10.0.2.100 is the second step's own address too.
        `wget: can't connect to remote host (10.0.2.100): Connection refused\n(failed)\n`,
        `wget: can't connect to remote host (127.0.0.1): Connection refused\n(failed)\n`,
        `wget: can't connect to remote host (10.0.2.2): Network is unreachable\n(failed)\n`,
      ].join(''),
    });
    expect(first.namespace).not.toEqual(second.namespace);
  });
});

/** The first `http://` Debian archive of the machine's APT sources, and its first suite. */
function debianMirror(): { uri: string; suite: string } {
  const dir = '/etc/apt/sources.list.d';
  const read = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8') : '');
  const deb822 = existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.sources')) : [];
  for (const stanza of deb822.flatMap((name) => read(path.join(dir, name)).split(/\n\s*\n/))) {
    const uri = /^URIs:\s*(http:\/\/\S+\/debian)\/?\s*$/m.exec(stanza)?.[1];
    const suite = /^Suites:\s*(\S+)/m.exec(stanza)?.[1];
    if (uri && suite) return { uri, suite };
  }
  const line = /^deb\s+(?:\[[^\]]*\]\s+)?(http:\/\/\S+\/debian)\/?\s+(\S+)/m.exec(read('/etc/apt/sources.list'));
  if (line?.[1] && line[2]) return { uri: line[1], suite: line[2] };
  throw new Error('no http:// Debian archive in the APT sources');
}
