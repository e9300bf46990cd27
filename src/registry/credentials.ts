/**
 * Registry credentials the way the docker CLI keeps them: `$DOCKER_CONFIG/config.json` (default
 * `~/.docker/config.json`) with `auths` entries, a default `credsStore` helper, and per-registry
 * `credHelpers`; helpers are `docker-credential-<name>` programs speaking JSON on stdin/stdout.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic-write.js';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { CredentialHelper } from './credential-helper.js';
import { DOCKER_HUB } from './reference.js';

/** A username and password for one registry, or an identity token (an OAuth2 refresh token). */
export interface Credentials {
  username: string;
  password: string;
  /**
   * `identitytoken` from config.json, or the secret of a helper whose username is `<token>`:
   * exchanged for registry tokens (`token-service.ts`), never sent as a password to the registry.
   */
  identityToken?: string;
}

/** Looks credentials up by registry host. */
export interface CredentialSource {
  get(host: string): Promise<Credentials | undefined>;
}

/** The username with which credential helpers mark their secret as an identity token (docker's convention). */
const IDENTITY_TOKEN_USERNAME = '<token>';

/** Docker Hub is stored under its legacy v1 URL. */
const HUB_KEY = 'https://index.docker.io/v1/';

interface ConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [other: string]: unknown;
}

/** The docker config directory: `$DOCKER_CONFIG`, else `~/.docker`. */
export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG || path.join(os.homedir(), '.docker');
}

/** Credentials from a docker config directory. */
export class DockerCredentials implements CredentialSource {
  constructor(readonly dir: string = dockerConfigDir()) {}

  private get file(): string {
    return path.join(this.dir, 'config.json');
  }

  private async read(): Promise<ConfigFile> {
    try {
      return JSON.parse(await readFile(this.file, 'utf8')) as ConfigFile;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new InvalidArgumentError(`cannot read docker config ${this.file}: ${(err as Error).message}`);
    }
  }

  /** The helper config.json names for `host` (`credHelpers`, else `credsStore`), if any. */
  private helper(config: ConfigFile, host: string): CredentialHelper | undefined {
    const own = config.credHelpers?.[host];
    if (own) return new CredentialHelper(own, `credHelpers["${host}"] in ${this.file}`);
    return config.credsStore ? new CredentialHelper(config.credsStore, `credsStore in ${this.file}`) : undefined;
  }

  async get(host: string): Promise<Credentials | undefined> {
    const config = await this.read();
    const fromHelper = await this.helper(config, host)?.get(serverKey(host));
    if (fromHelper?.username === IDENTITY_TOKEN_USERNAME) return { username: '', password: '', identityToken: fromHelper.secret };
    if (fromHelper) return { username: fromHelper.username, password: fromHelper.secret };
    for (const key of Object.keys(config.auths ?? {})) {
      if (hostOfKey(key) !== host) continue;
      const entry = config.auths?.[key] ?? {};
      const basic = basicOf(entry);
      // `az acr login` writes a placeholder user (`auth` of "00000000-…:") beside the token.
      if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '')
        return { username: basic?.username ?? '', password: basic?.password ?? '', identityToken: entry.identitytoken };
      if (basic?.username && basic.password) return basic;
    }
    return undefined;
  }

  /** Saves credentials (through the helper when one is configured). */
  async store(host: string, credentials: Credentials): Promise<void> {
    const config = await this.read();
    const helper = this.helper(config, host);
    if (helper) {
      await helper.store(serverKey(host), { username: credentials.username, secret: credentials.password });
      return;
    }
    const auths = { ...(config.auths ?? {}) };
    for (const key of Object.keys(auths)) if (hostOfKey(key) === host) delete auths[key];
    auths[serverKey(host)] = { auth: Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64') };
    await this.write({ ...config, auths });
  }

  /**
   * Removes credentials; false when there were none. A helper that cannot be run, or fails for
   * another reason than holding nothing for the host, is an error: the credentials it may hold
   * would stay, and the user must not be told they are logged out.
   */
  async erase(host: string): Promise<boolean> {
    const config = await this.read();
    let erased = (await this.helper(config, host)?.erase(serverKey(host))) ?? false;
    const auths = { ...(config.auths ?? {}) };
    for (const key of Object.keys(auths)) {
      if (hostOfKey(key) === host) {
        delete auths[key];
        erased = true;
      }
    }
    if (erased) await this.write({ ...config, auths });
    return erased;
  }

  private async write(config: ConfigFile): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.file, `${JSON.stringify(config, null, '\t')}\n`, 0o600);
  }
}

/** The username and password of an `auths` entry: its own fields, else its base64 `auth`. */
function basicOf(entry: { auth?: string; username?: string; password?: string }): Credentials | undefined {
  if (entry.username && entry.password) return { username: entry.username, password: entry.password };
  if (typeof entry.auth !== 'string' || entry.auth === '') return undefined;
  const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon > 0 ? { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) } : undefined;
}

/** The key docker stores a host under. */
function serverKey(host: string): string {
  return host === DOCKER_HUB ? HUB_KEY : host;
}

/** The host an `auths` key names (`https://index.docker.io/v1/` → `docker.io`). */
function hostOfKey(key: string): string {
  const bare = key.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  return bare === 'index.docker.io' || bare === 'registry-1.docker.io' ? DOCKER_HUB : bare;
}
