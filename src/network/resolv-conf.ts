/**
 * The /etc/resolv.conf a RUN step gets, derived from the host's like BuildKit does
 * (`util/resolvconf`, `executor/oci/resolvconf.go`): the file is parsed into nameservers, search
 * domains, options and unrecognised lines, then written out again without comments.
 *
 * - `host`: the host's file; with no nameserver at all, BuildKit's fallback (Google's 8.8.8.8 and
 *   8.8.4.4, and their IPv6 pair), since the resolver library would otherwise ask 127.0.0.1.
 * - `none`: what BuildKit writes for a namespace of its own (`TransformForLegacyNw`): the host's
 *   file without loopback nameservers, the fallback when none is left. Nothing can be asked from
 *   there, but a step sees the same file as under BuildKit (buildx 0.29 shows the host's
 *   nameserver on `--network=none`).
 * - `default`: the step runs in its own namespace behind slirp4netns, where the host's loopback
 *   resolver (systemd-resolved's 127.0.0.53, a local dnsmasq) cannot be reached directly. Each such
 *   nameserver becomes slirp4netns's DNS forwarder (10.0.2.3), which asks the host's first
 *   resolver from the host's namespace, a loopback one included; BuildKit, having no forwarder,
 *   drops them instead. The namespace has no IPv6 route, so IPv6 nameservers are dropped. With none
 *   left, BuildKit's IPv4 fallback.
 *
 * Pure: the caller reads the host's file.
 */
import { isIP, SocketAddress } from 'node:net';
import type { NetworkMode } from './network.js';

/** The address slirp4netns answers DNS queries on (its default 10.0.2.0/24 network, host .3). */
export const SLIRP_DNS = '10.0.2.3';

/** BuildKit's nameservers when none is usable (`defaultIPv4NSs`, `defaultIPv6NSs`). */
const FALLBACK_IPV4 = ['8.8.8.8', '8.8.4.4'];
const FALLBACK_IPV6 = ['2001:4860:4860::8888', '2001:4860:4860::8844'];

/** A resolv.conf as BuildKit models it. */
export interface ResolvConf {
  /** Valid nameserver addresses, in order, in Go's `netip` spelling. */
  nameservers: string[];
  /** The last `search` (or `domain`) line's domains. */
  search: string[];
  /** Every `options` line's options, in order. */
  options: string[];
  /** Lines with any other directive, kept verbatim. */
  other: string[];
}

/** Parses resolv.conf text; comments and blank lines go, invalid nameserver addresses too. */
export function parseResolvConf(text: string): ResolvConf {
  const conf: ResolvConf = { nameservers: [], search: [], options: [], other: [] };
  for (const line of text.split('\n').map((l) => l.replace(/\r$/, ''))) {
    // Like BuildKit, a comment marker counts only in the first column.
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const [directive, ...values] = line.split(/[ \t]+/).filter((field) => field !== '');
    if (directive === undefined) continue;
    switch (directive) {
      case 'nameserver': {
        const address = values[0] === undefined ? undefined : canonicalAddress(values[0]);
        if (address !== undefined) conf.nameservers.push(address);
        break;
      }
      case 'domain':
      case 'search':
        if (values.length > 0) conf.search = values;
        break;
      case 'options':
        conf.options.push(...values);
        break;
      default:
        conf.other.push(line);
    }
  }
  return conf;
}

/** The file text: nameservers, search, options, other lines (BuildKit's `Generate(false)`). */
export function formatResolvConf(conf: ResolvConf): string {
  const lines = conf.nameservers.map((address) => `nameserver ${address}`);
  if (conf.search.length > 0) lines.push(`search ${conf.search.join(' ')}`);
  if (conf.options.length > 0) lines.push(`options ${conf.options.join(' ')}`);
  lines.push(...conf.other);
  return lines.map((line) => `${line}\n`).join('');
}

/** The resolv.conf for a step in `mode`, from the host's file (undefined: the host has none). */
export function stepResolvConf(mode: NetworkMode, hostText: string | undefined): string {
  const host = parseResolvConf(hostText ?? '');
  if (mode !== 'default') {
    const nameservers = mode === 'host' ? host.nameservers : host.nameservers.filter((address) => !isLoopback(address));
    return formatResolvConf({ ...host, nameservers: nameservers.length > 0 ? nameservers : [...FALLBACK_IPV4, ...FALLBACK_IPV6] });
  }
  const nameservers: string[] = [];
  for (const address of host.nameservers) {
    const usable = isLoopback(address) ? SLIRP_DNS : isIP(address) === 4 ? address : undefined;
    if (usable !== undefined && !nameservers.includes(usable)) nameservers.push(usable);
  }
  return formatResolvConf({ ...host, nameservers: nameservers.length > 0 ? nameservers : FALLBACK_IPV4 });
}

/** `address` as Go's `netip.Addr.String()` writes it, or undefined when it is not an address. */
function canonicalAddress(text: string): string | undefined {
  const [address = '', zone] = text.split('%', 2);
  const family = isIP(address);
  if (family === 4) return zone === undefined ? address : undefined;
  if (family !== 6 || zone === '') return undefined;
  const canonical = new SocketAddress({ address, family: 'ipv6' }).address;
  return zone === undefined ? canonical : `${canonical}%${zone}`;
}

/** 127.0.0.0/8, ::1, and IPv4 loopback addresses written in IPv6 (`::ffff:127.0.0.1`), as Go's `IsLoopback`. */
function isLoopback(address: string): boolean {
  const v4 = /^(?:::ffff:)?(\d+)\.\d+\.\d+\.\d+$/i.exec(address);
  if (v4) return v4[1] === '127';
  return address === '::1';
}
