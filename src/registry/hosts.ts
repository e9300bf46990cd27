/**
 * Where a registry answers: scheme, mirrors and plain-HTTP registries. Docker's rules: `localhost`,
 * `127.0.0.0/8` and `::1` speak plain HTTP; registries listed as insecure too; everything else
 * HTTPS. Mirrors (pull only) are tried in order before the registry itself. The same settings
 * carry how patient requests are (timeouts, retries), so one file configures both.
 */
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from '../errors.js';
import { DOCKER_HUB, DOCKER_HUB_API } from './reference.js';

/** Registry settings: from a config file, then flags. */
export interface RegistryHostsConfig {
  /** Registry host → mirror base URLs (`http://127.0.0.1:5001`), tried in order for pulls. */
  mirrors?: Record<string, string[]>;
  /** Hosts (`host:port`) reached over plain HTTP. */
  insecure?: string[];
  /** Time limits and retries for every registry request; unset fields keep their defaults. */
  network?: NetworkSettings;
}

/** How patient registry requests are, in seconds (fractions allowed; a timeout of 0 waits forever). */
export interface NetworkSettings {
  /** For a connection (TCP and TLS) to be established; default 30. */
  connectTimeout?: number;
  /** For the next byte once connected (the response, each piece of a body); default 60. */
  idleTimeout?: number;
  /** Retries of a request that failed transiently; default 4. */
  retries?: number;
  /** The first retry's backoff; each further one doubles it (with jitter); default 0.2. */
  backoff?: number;
}

/** One place to send requests for a registry. */
export interface Endpoint {
  /** `https://registry-1.docker.io`, `http://127.0.0.1:5000`. */
  base: string;
  /** The host credentials and tokens are kept for (`docker.io`, `127.0.0.1:5001`). */
  host: string;
  mirror: boolean;
}

/** Resolves registry hosts to endpoints. */
export class RegistryHosts {
  private readonly mirrors: Map<string, string[]>;
  private readonly insecure: Set<string>;
  /** The network settings, as configured. */
  readonly network: NetworkSettings;

  constructor(config: RegistryHostsConfig = {}) {
    checkNetwork(config.network, 'registry settings');
    this.network = { ...(config.network ?? {}) };
    this.mirrors = new Map(Object.entries(config.mirrors ?? {}).map(([host, urls]) => [normalizeHost(host), urls.map(checkMirrorUrl)]));
    this.insecure = new Set((config.insecure ?? []).map(normalizeHost));
  }

  /** The endpoints to try for pulling from `domain`: mirrors first, then the registry. */
  pullEndpoints(domain: string): Endpoint[] {
    const mirrors = (this.mirrors.get(domain) ?? []).map((url) => ({ base: url.replace(/\/+$/, ''), host: new URL(url).host, mirror: true }));
    return [...mirrors, this.endpoint(domain)];
  }

  /** The registry's own endpoint (pushes never go to mirrors). */
  endpoint(domain: string): Endpoint {
    const apiHost = domain === DOCKER_HUB ? DOCKER_HUB_API : domain;
    return { base: `${this.isPlainHttp(domain) ? 'http' : 'https'}://${apiHost}`, host: domain, mirror: false };
  }

  /** True for hosts reached over plain HTTP. */
  isPlainHttp(domain: string): boolean {
    if (this.insecure.has(domain)) return true;
    const hostname = domain.replace(/:\d+$/, '');
    return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
  }
}

/** Reads a registries config file (`{"mirrors": {...}, "insecure": [...]}`); a missing file is empty. */
export async function loadRegistryHostsConfig(file: string): Promise<RegistryHostsConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`registries config ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const config = parsed as RegistryHostsConfig;
  const okMirrors =
    config.mirrors === undefined ||
    (typeof config.mirrors === 'object' && Object.values(config.mirrors).every((v) => Array.isArray(v) && v.every((u) => typeof u === 'string')));
  const okInsecure = config.insecure === undefined || (Array.isArray(config.insecure) && config.insecure.every((h) => typeof h === 'string'));
  if (!okMirrors || !okInsecure) {
    throw new InvalidArgumentError(`registries config ${file}: expected {"mirrors": {"host": ["url", ...]}, "insecure": ["host:port", ...]}`);
  }
  checkNetwork(config.network, `registries config ${file}`);
  return config;
}

const NETWORK_FIELDS = ['connectTimeout', 'idleTimeout', 'retries', 'backoff'] as const;

/** Refuses network settings that are not non-negative numbers (and whole for `retries`). */
export function checkNetwork(network: unknown, where: string): void {
  if (network === undefined) return;
  const expected = `${where}: expected "network": {"connectTimeout": seconds, "idleTimeout": seconds, "retries": count, "backoff": seconds}`;
  if (typeof network !== 'object' || network === null || Array.isArray(network)) throw new InvalidArgumentError(expected);
  for (const [key, value] of Object.entries(network)) {
    const known = (NETWORK_FIELDS as readonly string[]).includes(key);
    const valid = typeof value === 'number' && Number.isFinite(value) && value >= 0 && (key !== 'retries' || Number.isInteger(value));
    if (!known || !valid) throw new InvalidArgumentError(`${expected}; "${key}" is ${JSON.stringify(value)}`);
  }
}

/** Merges configs; later ones add mirrors (in front) and insecure hosts, and override network settings. */
export function mergeHostsConfig(...configs: RegistryHostsConfig[]): RegistryHostsConfig {
  const mirrors: Record<string, string[]> = {};
  const insecure: string[] = [];
  let network: NetworkSettings = {};
  for (const config of configs) {
    for (const [host, urls] of Object.entries(config.mirrors ?? {})) mirrors[host] = [...urls, ...(mirrors[host] ?? [])];
    insecure.push(...(config.insecure ?? []));
    network = { ...network, ...(config.network ?? {}) };
  }
  return { mirrors, insecure, network };
}

function normalizeHost(host: string): string {
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? DOCKER_HUB : host;
}

function checkMirrorUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.protocol === 'http:' || u.protocol === 'https:') return url;
  } catch {
    // fall through
  }
  throw new InvalidArgumentError(`invalid registry mirror "${url}": expected an http:// or https:// URL`);
}
