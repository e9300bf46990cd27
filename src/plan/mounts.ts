/**
 * `RUN --mount` options → typed mounts, after variable expansion: defaults (bind reads the context
 * read-only; cache `id` = target; secrets land in `/run/secrets/<id>`; ssh sockets in
 * `/run/buildkit/ssh_agent.<n>`), value checks and BuildKit's messages.
 */
import path from 'node:path/posix';
import type { RawMount } from '../dockerfile/instructions.js';
import { didYouMean } from '../dockerfile/suggest.js';
import type { Mount, SourceLocation } from './types.js';

const MOUNT_TYPES = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'] as const;
const SHARING = ['shared', 'private', 'locked'] as const;

/** What resolving a mount needs from the stage. */
export interface MountContext {
  /** Expands one option value in the stage's scope. */
  expand(value: string): string;
  /** The working directory that relative targets are joined to. */
  workdir: string;
  /** Resolves an (unexpanded) `from=` value to a stage or image. */
  resolveFrom(value: string): SourceLocation;
  /** Index of this mount among the RUN's ssh mounts so far (for default socket paths). */
  sshCount: number;
  fail(message: string, needle?: string): never;
}

/** Resolves one `--mount`. */
export function resolveMount(raw: RawMount, ctx: MountContext): Mount {
  const opts = new Map<string, string | undefined>();
  for (const { key, value } of raw.options) {
    if (key === 'from') {
      if (value !== undefined && value.includes('$')) ctx.fail("'from' doesn't support variable expansion, define alias stage instead", value);
      opts.set(key, value);
    } else {
      opts.set(canonicalKey(key), value === undefined ? undefined : ctx.expand(value));
    }
  }
  const type = opts.get('type') ?? 'bind';
  if (!(MOUNT_TYPES as readonly string[]).includes(type)) {
    ctx.fail(`unsupported mount type "${type}"${didYouMean(type, MOUNT_TYPES)}`, raw.text);
  }
  const bool = (key: string, fallback: boolean): boolean => {
    if (!opts.has(key)) return fallback;
    const value = (opts.get(key) ?? 'true').toLowerCase();
    if (value !== 'true' && value !== 'false') ctx.fail(`invalid value for ${key}: "${value}", expected true or false`, raw.text);
    return value === 'true';
  };
  const int = (key: string, fallback: number, radix = 10): number => {
    const value = opts.get(key);
    if (value === undefined) return fallback;
    const pattern = radix === 8 ? /^[0-7]+$/ : /^\d+$/;
    if (!pattern.test(value)) ctx.fail(`invalid value for ${key}: "${value}"`, raw.text);
    return parseInt(value, radix);
  };
  const target = (): string => {
    const value = opts.get('target');
    if (!value) ctx.fail(`mount type=${type} requires a target`, raw.text);
    return path.isAbsolute(value) ? path.normalize(value) : path.join('/', ctx.workdir, value);
  };
  const readonly = (fallback: boolean): boolean => {
    if (opts.has('readonly')) return bool('readonly', true);
    if (opts.has('readwrite')) return !bool('readwrite', true);
    return fallback;
  };
  const from = opts.has('from') ? ctx.resolveFrom(opts.get('from') ?? '') : undefined;
  const source = opts.get('source') ?? '';

  switch (type) {
    case 'bind':
      return { type, target: target(), source: source || '/', from: from ?? { kind: 'context' }, readonly: readonly(true) };
    case 'cache': {
      const t = target();
      const sharing = opts.get('sharing') ?? 'shared';
      if (!(SHARING as readonly string[]).includes(sharing)) {
        ctx.fail(`unsupported sharing value "${sharing}"${didYouMean(sharing, SHARING)}`, raw.text);
      }
      return {
        type,
        target: t,
        id: opts.get('id') || t,
        sharing: sharing as (typeof SHARING)[number],
        source,
        ...(from === undefined ? {} : { from }),
        readonly: readonly(false),
        mode: int('mode', 0o755, 8),
        uid: int('uid', 0),
        gid: int('gid', 0),
      };
    }
    case 'tmpfs': {
      const size = opts.get('size');
      return { type, target: target(), ...(size === undefined ? {} : { size: parseSize(size, ctx) }) };
    }
    case 'secret': {
      const env = opts.get('env');
      const given = opts.get('target');
      const id = opts.get('id') || (given ? path.basename(given) : '');
      if (!id) ctx.fail('secret mount requires an id or a target', raw.text);
      const file = given ? target() : env ? undefined : `/run/secrets/${id}`;
      return {
        type,
        id,
        ...(file === undefined ? {} : { target: file }),
        ...(env === undefined ? {} : { env }),
        required: bool('required', false),
        mode: int('mode', 0o400, 8),
        uid: int('uid', 0),
        gid: int('gid', 0),
      };
    }
    default:
      return {
        type: 'ssh',
        id: opts.get('id') || 'default',
        target: opts.get('target') ? target() : `/run/buildkit/ssh_agent.${ctx.sshCount}`,
        required: bool('required', false),
        mode: int('mode', 0o600, 8),
        uid: int('uid', 0),
        gid: int('gid', 0),
      };
  }
}

function canonicalKey(key: string): string {
  switch (key) {
    case 'src':
      return 'source';
    case 'dst':
    case 'destination':
      return 'target';
    case 'ro':
      return 'readonly';
    case 'rw':
      return 'readwrite';
    default:
      return key;
  }
}

/** `128m`, `1g`, `4096` (bytes) → bytes; units are powers of 1024 as in Docker's `RAMInBytes`. */
function parseSize(text: string, ctx: MountContext): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i.exec(text.trim());
  if (!match) return ctx.fail(`invalid size: '${text}'`, text);
  const power = ' kmgtp'.indexOf((match[2] ?? '').toLowerCase() || ' ');
  return Math.round(Number(match[1]) * 1024 ** power);
}
