/**
 * Pure helpers for the container config a stage builds up: ENV replacement in place, EXPOSE port
 * specs, STOPSIGNAL values. Each returns a new value; nothing is patched in place.
 */
import type { ContainerConfig } from '../image/oci-types.js';
import { splitEnv } from './scope.js';

/** The PATH BuildKit adds on Linux when the image has none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The SHELL when a stage sets none (Linux). */
export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** `env` with `key` set to `value`: replaced in place when present, appended otherwise. */
export function setEnv(env: readonly string[], key: string, value: string): string[] {
  const entry = `${key}=${value}`;
  const at = env.findIndex((e) => splitEnv(e)[0] === key);
  return at < 0 ? [...env, entry] : env.map((e, i) => (i === at ? entry : e));
}

/**
 * The config of BuildKit's empty image, where a `FROM scratch` stage starts: WorkingDir `/` and the
 * default PATH. A stage on an image starts from that image's config instead, WorkingDir as it is
 * (an empty one stays empty until a WORKDIR), which is why no WorkingDir default is added later.
 */
export function scratchConfig(): ContainerConfig {
  return { Env: [`PATH=${DEFAULT_PATH}`], WorkingDir: '/' };
}

/** A copy of `config` with defaults a fresh stage gets: PATH in Env, no OnBuild triggers. */
export function startConfig(base: ContainerConfig): ContainerConfig {
  const config: ContainerConfig = structuredClone(base);
  const env = config.Env ?? [];
  config.Env = env.some((e) => splitEnv(e)[0] === 'PATH') ? env : [`PATH=${DEFAULT_PATH}`, ...env];
  delete config.OnBuild;
  return config;
}

/**
 * EXPOSE words → port keys (`80/tcp`). Protocol defaults to tcp and is lowercased; ranges expand
 * (`1234-1236/udp`); `ip:hostPort:containerPort/proto` keeps the container port. Throws a message
 * for anything else.
 */
export function exposedPorts(words: readonly string[]): string[] {
  const ports: string[] = [];
  for (const word of words) {
    const slash = word.lastIndexOf('/');
    const spec = slash < 0 ? word : word.slice(0, slash);
    const proto = slash < 0 ? 'tcp' : word.slice(slash + 1).toLowerCase();
    if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new Error(`invalid proto: ${proto}`);
    const port = spec.includes(':') ? (spec.split(':').pop() ?? '') : spec;
    const range = /^(\d+)(?:-(\d+))?$/.exec(port);
    if (!range) throw new Error(`invalid containerPort: ${port}`);
    const first = Number(range[1]);
    const last = range[2] === undefined ? first : Number(range[2]);
    if (first < 0 || last > 65535 || last < first) throw new Error(`invalid port range: ${port}`);
    for (let p = first; p <= last; p++) ports.push(`${p}/${proto}`);
  }
  return ports;
}

const SIGNALS = [
  'ABRT',
  'ALRM',
  'BUS',
  'CHLD',
  'CLD',
  'CONT',
  'FPE',
  'HUP',
  'ILL',
  'INT',
  'IO',
  'IOT',
  'KILL',
  'PIPE',
  'POLL',
  'PROF',
  'PWR',
  'QUIT',
  'SEGV',
  'STKFLT',
  'STOP',
  'SYS',
  'TERM',
  'TRAP',
  'TSTP',
  'TTIN',
  'TTOU',
  'URG',
  'USR1',
  'USR2',
  'VTALRM',
  'WINCH',
  'XCPU',
  'XFSZ',
];

/** True when `text` names a Linux signal (`SIGTERM`, `TERM`, `15`, `SIGRTMIN+3`). */
export function isSignal(text: string): boolean {
  if (/^\d+$/.test(text)) return Number(text) > 0 && Number(text) <= 64;
  const name = text.toUpperCase().replace(/^SIG/, '');
  return SIGNALS.includes(name) || /^RTM(IN|AX)([+-]\d+)?$/.test(name);
}
