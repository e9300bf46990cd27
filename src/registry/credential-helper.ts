/**
 * A docker credential helper: the `docker-credential-<name>` program that the docker config's
 * `credsStore` or `credHelpers` names, speaking docker-credential-helpers' protocol (`get`, `store`,
 * `erase`: the server on stdin; `get` answers `{"Username","Secret"}` JSON on stdout).
 *
 * Only one failure means "nothing stored for this server": the helper's own answer, which
 * docker-credential-helpers spells `credentials not found in native keychain` (the docker CLI
 * treats it the same way). A helper that is not installed, or that fails for any other reason,
 * is an error naming it: taken for "nothing stored", it would send a build on without its
 * credentials, or tell a user who logs out that nothing was kept while the helper still holds the
 * secret.
 */
import { spawn } from 'node:child_process';
import * as z from 'zod';
import { onFirstUse } from '../util/on-first-use.js';
import { FailedPreconditionError, InvalidArgumentError, UnavailableError } from '../errors.js';
import { missingTool } from '../util/tool-runner.js';

/** What a helper keeps for a server. */
export interface HelperSecret {
  username: string;
  secret: string;
}

/** What `get` answers; other fields (ServerURL) are not read. */
const answer = onFirstUse(() => z.looseObject({ Username: z.string().optional(), Secret: z.string().optional() }));

/** A helper's exit and what it said (its stdout, else its stderr). */
interface Outcome {
  ok: boolean;
  said: string;
}

export class CredentialHelper {
  readonly program: string;

  /**
   * `name` as config.json gives it (`pass`, `desktop`); `origin` says where it is named
   * (`credsStore in ~/.docker/config.json`), for the error when it is not installed.
   */
  constructor(
    name: unknown,
    private readonly origin: string,
  ) {
    // A name is a suffix looked up on PATH: one with a slash would run a file relative to here.
    if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
      throw new InvalidArgumentError(`${origin}: ${JSON.stringify(name)} is not a credential helper name`);
    }
    this.program = `docker-credential-${name}`;
  }

  /** What is stored for `server`, or undefined when the helper has nothing (or an empty secret). */
  async get(server: string): Promise<HelperSecret | undefined> {
    const { ok, said } = await this.run('get', server);
    if (!ok) {
      if (nothingStored(said)) return undefined;
      throw this.failed('get', said);
    }
    let parsed: z.infer<ReturnType<typeof answer>>;
    try {
      parsed = answer().parse(JSON.parse(said));
    } catch {
      throw new UnavailableError(`credential helper ${this.program} answered with something that is not its JSON`);
    }
    if (parsed.Secret === undefined || parsed.Secret === '') return undefined;
    return { username: parsed.Username ?? '', secret: parsed.Secret };
  }

  /** Stores `stored` for `server`. */
  async store(server: string, stored: HelperSecret): Promise<void> {
    const input = JSON.stringify({ ServerURL: server, Username: stored.username, Secret: stored.secret });
    const { ok, said } = await this.run('store', input);
    if (!ok) throw this.failed('store', said);
  }

  /** Erases what is stored for `server`; false when the helper held nothing for it. */
  async erase(server: string): Promise<boolean> {
    const { ok, said } = await this.run('erase', server);
    if (ok) return true;
    if (nothingStored(said)) return false;
    throw this.failed('erase', said);
  }

  private failed(action: string, said: string): UnavailableError {
    return new UnavailableError(`credential helper ${this.program} ${action} failed: ${said || 'no output'}`);
  }

  /** Runs `<program> <action>` with `input` on stdin; rejects only when it cannot be run at all. */
  private run(action: 'get' | 'store' | 'erase', input: string): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.program, [action], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'ENOENT'
            ? missingTool(this.program, { purpose: `${this.origin} names it`, alternative: 'remove that entry' })
            : new FailedPreconditionError(`credential helper ${this.program} could not be run: ${err.message}`),
        ),
      );
      // A helper that exits without reading its input closes the pipe: its exit status says why.
      child.stdin.on('error', () => undefined);
      child.on('close', (code) => resolve({ ok: code === 0, said: (stdout || stderr).trim() }));
      child.stdin.end(input);
    });
  }
}

/** The helper's answer when it holds nothing for the server. */
function nothingStored(said: string): boolean {
  return /not found/i.test(said);
}
