/**
 * Credential helpers (`credsStore`, `credHelpers`) on each action: only the helper's own "nothing
 * stored" answer is taken as no credentials; a helper that is not installed or that fails
 * otherwise is an error naming it, and `logout` then changes nothing and says so (issue 21: it
 * used to report "Not logged in" while the helper still held the secret).
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TsbuildError } from '../../src/errors.js';
import { DockerCredentials } from '../../src/registry/credentials.js';
import { tsbuild } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-credentials-');

afterEach(() => vi.unstubAllEnvs());

/** The helpers the rows name, as shell scripts speaking the protocol's exits and answers. */
const HELPERS: Record<string, string> = {
  // docker-credential-helpers' answer when it holds nothing for the server.
  empty: 'echo "credentials not found in native keychain"; exit 1',
  // Holds one secret and erases it.
  holds: 'read server; if [ "$1" = get ]; then echo \'{"ServerURL":"\'$server\'","Username":"u","Secret":"s"}\'; fi',
  locked: 'echo "the keychain is locked" >&2; exit 1',
};

/** A docker config directory with `config` and the helpers above on PATH. */
function setUp(config: object): { dir: string; file: string } {
  const dir = tempDir();
  const bin = tempDir();
  for (const [name, body] of Object.entries(HELPERS)) {
    const file = path.join(bin, `docker-credential-${name}`);
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, 0o755);
  }
  vi.stubEnv('PATH', `${bin}:${process.env.PATH ?? ''}`);
  const file = path.join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  return { dir, file };
}

const HOST = 'registry.example';
/** An auths entry for HOST, which an erase that fails must leave in place. */
const auths = { [HOST]: { auth: Buffer.from('me:pw').toString('base64') } };

type Action = (creds: DockerCredentials) => Promise<unknown>;
const erase: Action = (creds) => creds.erase(HOST);
const get: Action = (creds) => creds.get(HOST);
const store: Action = (creds) => creds.store(HOST, { username: 'me', password: 'pw' });

describe('credential helpers', () => {
  const gone = (setting: string): [string, string, string] => [
    'failed-precondition',
    `docker-credential-gone is not installed (not found on PATH): ${setting} in FILE names it`,
    'install docker-credential-gone; or remove that entry',
  ];
  const locked = (action: string): [string, string, undefined] => [
    'unavailable',
    `credential helper docker-credential-locked ${action} failed: the keychain is locked`,
    undefined,
  ];
  // FILE stands for the config file's path.
  it.each([
    ['erase, credsStore not installed', { credsStore: 'gone', auths }, erase, gone('credsStore')],
    ['erase, credHelpers entry not installed', { credHelpers: { [HOST]: 'gone' }, auths }, erase, gone(`credHelpers["${HOST}"]`)],
    ['get, credsStore not installed', { credsStore: 'gone' }, get, gone('credsStore')],
    ['store, credsStore not installed', { credsStore: 'gone' }, store, gone('credsStore')],
    ['erase, a helper that fails', { credsStore: 'locked', auths }, erase, locked('erase')],
    ['get, a helper that fails', { credsStore: 'locked' }, get, locked('get')],
    [
      'erase, a helper name that is a path',
      { credsStore: '../../bin/sh', auths },
      erase,
      ['invalid-argument', 'credsStore in FILE: "../../bin/sh" is not a credential helper name', undefined],
    ],
  ] as Array<[string, object, Action, [string, string, string | undefined]]>)('%s: an error naming it', async (_what, config, action, expected) => {
    const { dir, file } = setUp(config);
    const before = readFileSync(file, 'utf8');
    const err = (await action(new DockerCredentials(dir)).then(
      () => undefined,
      (e: unknown) => e,
    )) as TsbuildError | undefined;
    expect([err?.code, err?.message, err?.hint]).toEqual([expected[0], expected[1].replace('FILE', file), expected[2]]);
    // Nothing was changed: the file's own entry stays with the helper's.
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it.each([
    ['a helper that holds nothing for the host', { credsStore: 'empty' }, false],
    ['a helper that holds nothing, and an auths entry', { credsStore: 'empty', auths }, true],
    ['a helper that erases', { credsStore: 'holds' }, true],
    ['no helper, an auths entry', { auths }, true],
    ['no helper, nothing', {}, false],
  ])('erase: %s', async (_what, config, erased) => {
    const { dir } = setUp(config);
    expect(await new DockerCredentials(dir).erase(HOST)).toBe(erased);
  });

  it('tsbuild logout with a credsStore that is not installed: one line naming it, exit 1', () => {
    const { dir, file } = setUp({ credsStore: 'gone', auths });
    const result = tsbuild(['logout', HOST], { env: { DOCKER_CONFIG: dir } });
    expect([result.status, result.stdout, result.stderr]).toEqual([
      1,
      '',
      `error: docker-credential-gone is not installed (not found on PATH): credsStore in ${file} names it\ninstall docker-credential-gone; or remove that entry\n`,
    ]);
  });
});
