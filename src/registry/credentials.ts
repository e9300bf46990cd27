/**
 * Registry credentials the way the docker CLI keeps them: `$DOCKER_CONFIG/config.json` (default
 * `~/.docker/config.json`) with `auths` entries, a default `credsStore` helper, and per-registry
 * `credHelpers`; helpers are `docker-credential-<name>` programs speaking JSON on stdin/stdout.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic-write.js';
import os from 'node:os';
import path from 'node:path';
import { FailedPreconditionError, hasCode, InvalidArgumentError, TsbuildError, UnavailableError } from '../errors.js';
import { missingTool } from '../util/tool-runner.js';
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

  async get(host: string): Promise<Credentials | undefined> {
    const config = await this.read();
    const helper = config.credHelpers?.[host] ?? config.credsStore;
    if (helper) {
      const fromHelper = await helperGet(helper, serverKey(host));
      if (fromHelper) return fromHelper;
    }
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
    const helper = config.credHelpers?.[host] ?? config.credsStore;
    if (helper) {
      await runHelper(helper, 'store', JSON.stringify({ ServerURL: serverKey(host), Username: credentials.username, Secret: credentials.password }));
      return;
    }
    const auths = { ...(config.auths ?? {}) };
    for (const key of Object.keys(auths)) if (hostOfKey(key) === host) delete auths[key];
    auths[serverKey(host)] = { auth: Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64') };
    await this.write({ ...config, auths });
  }

  /** Removes credentials; false when there were none. */
  async erase(host: string): Promise<boolean> {
    const config = await this.read();
    const helper = config.credHelpers?.[host] ?? config.credsStore;
    let erased = false;
    if (helper)
      erased =
        (await runHelper(helper, 'erase', serverKey(host)).then(
          () => true,
          (err: unknown) => {
            // A helper that ran and has nothing for the host fails: that is "nothing erased". One that
            // cannot run is the user's set-up to fix: its credentials may still be there.
            if (hasCode(err, 'failed-precondition')) throw err;
            return false;
          },
        )) || erased;
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

async function helperGet(helper: string, server: string): Promise<Credentials | undefined> {
  let output: string;
  try {
    output = await runHelper(helper, 'get', server);
  } catch (err) {
    if (err instanceof TsbuildError && /not found/i.test(err.message)) return undefined;
    throw err;
  }
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(output) as typeof parsed;
  } catch {
    throw new UnavailableError(`credential helper docker-credential-${helper} answered with something that is not JSON`);
  }
  if (typeof parsed.Secret !== 'string' || parsed.Secret === '') return undefined;
  if (parsed.Username === IDENTITY_TOKEN_USERNAME) return { username: '', password: '', identityToken: parsed.Secret };
  return { username: typeof parsed.Username === 'string' ? parsed.Username : '', password: parsed.Secret };
}

/** Runs `docker-credential-<helper> <action>` with `input` on stdin; resolves to its stdout. */
function runHelper(helper: string, action: 'get' | 'store' | 'erase', input: string): Promise<string> {
  const program = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? missingTool(program, {
              purpose: `config.json names the credential helper "${helper}"`,
              alternative: `remove "${helper}" from config.json`,
            })
          : new FailedPreconditionError(`credential helper ${program} could not be run: ${err.message}`),
      ),
    );
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new UnavailableError(`credential helper ${program} ${action} failed: ${(stdout || stderr).trim()}`));
    });
    child.stdin.end(input);
  });
}
