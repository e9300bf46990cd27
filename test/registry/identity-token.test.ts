/**
 * Identity tokens (`identitytoken` in docker's config.json, as `az acr login` writes it) against a
 * real token-auth registry: exchanged by the OAuth2 refresh-token grant (the form fields checked
 * by the token service), with the GET fallback for services that refuse the POST, a one-line error
 * for a token the service does not know, and a rotated refresh token used for the next exchange.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pull } from '../../src/verbs/pull.js';
import { RegistryTransport } from '../../src/registry/transport.js';
import { writeBusyboxLayout, type LayoutImage } from '../helpers/oci-image.js';
import { registryAvailable, skopeoPush, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startTokenServer, type TokenServer, type TokenServerOptions } from '../helpers/token-server.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-identity-');
const USER = { user: 'tester', password: 's3cret-pass' };
/** The user `az acr login` writes beside the token. */
const ACR_USER = '00000000-0000-0000-0000-000000000000';
const IDENTITY_TOKEN = 'identity-token-1';
const SERVICE = 'tsbuild-test-registry';

let layouts: string;
let image: LayoutImage;
beforeAll(async () => {
  if (!registryAvailable) return;
  layouts = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-identity-layouts-'));
  image = await writeBusyboxLayout(path.join(layouts, 'bb'), '1', ['linux/amd64']);
}, 60_000);
afterAll(() => {
  if (layouts) rmSync(layouts, { recursive: true, force: true });
});

/** A token service with `options` and a registry trusting it, holding `secure:1` and `other:1`. */
async function tokenRegistry(options: TokenServerOptions): Promise<{ tokens: TokenServer; registry: TestRegistry; stop: () => Promise<void> }> {
  const tokens = await startTokenServer(USER, options);
  const registry = await startRegistry({ token: tokens });
  const stop = async (): Promise<void> => {
    await registry.stop();
    await tokens.stop();
  };
  try {
    for (const repo of ['secure', 'other'])
      await skopeoPush(path.join(layouts, 'bb'), '1', `${registry.host}/${repo}:1`, { creds: `${USER.user}:${USER.password}` });
  } catch (err) {
    await stop();
    throw err;
  }
  tokens.exchanges.length = 0;
  return { tokens, registry, stop };
}

/** A docker config dir with an `az acr login` style entry for `host`. */
function identityConfig(host: string, token: string): string {
  const dir = tempDir();
  const auth = Buffer.from(`${ACR_USER}:`).toString('base64');
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ auths: { [host]: { auth, identitytoken: token } } }));
  return dir;
}

const refreshForm = (token: string): Record<string, string> => ({
  grant_type: 'refresh_token',
  refresh_token: token,
  client_id: 'tsbuild',
  service: SERVICE,
  scope: 'repository:secure:pull',
});

describe.skipIf(!registryAvailable)('identity tokens', () => {
  it.each([
    {
      name: 'exchanged by the OAuth2 refresh-token grant',
      server: { identityToken: IDENTITY_TOKEN },
      token: IDENTITY_TOKEN,
      exchanges: [{ method: 'POST', fields: refreshForm(IDENTITY_TOKEN), status: 200 }],
    },
    {
      name: 'sent as the Basic password of a GET when the service refuses the POST',
      server: { identityToken: IDENTITY_TOKEN, oauthPost: false },
      token: IDENTITY_TOKEN,
      exchanges: [
        { method: 'POST', fields: refreshForm(IDENTITY_TOKEN), status: 404 },
        { method: 'GET', fields: { service: SERVICE, scope: 'repository:secure:pull' }, basic: `${ACR_USER}:${IDENTITY_TOKEN}`, status: 200 },
      ],
    },
    {
      name: 'an unknown token: one line with the token service’s answer',
      server: { identityToken: IDENTITY_TOKEN },
      token: 'stale-token',
      exchanges: [
        { method: 'POST', fields: refreshForm('stale-token'), status: 401 },
        { method: 'GET', fields: { service: SERVICE, scope: 'repository:secure:pull' }, basic: `${ACR_USER}:stale-token`, status: 401 },
      ],
      error: (realm: string) => `unauthorized: incorrect username or password for a token for HOST (repository:secure:pull) (GET ${realm} → 401)`,
    },
  ])('$name', async ({ server, token, exchanges, error }) => {
    const { tokens, registry, stop } = await tokenRegistry(server);
    try {
      const result = pull(`${registry.host}/secure:1`, {
        root: tempDir(),
        registriesConfig: '/nonexistent/registries.json',
        dockerConfig: identityConfig(registry.host, token),
      });
      if (error) await expect(result).rejects.toMatchObject({ message: error(tokens.realm).replace('HOST', registry.host) });
      else expect((await result).digest).toBe(image.manifests[0]?.digest);
      expect(tokens.exchanges).toEqual(exchanges);
    } finally {
      await stop();
    }
  });

  it('uses a refresh token the service rotated for the next exchange', async () => {
    const { tokens, registry, stop } = await tokenRegistry({ identityToken: IDENTITY_TOKEN, rotate: true });
    try {
      const credentials = { get: async () => ({ username: '', password: '', identityToken: IDENTITY_TOKEN }) };
      const transport = new RegistryTransport(`http://${registry.host}`, registry.host, { credentials });
      for (const repository of ['secure', 'other']) {
        const response = await transport.fetch({
          method: 'HEAD',
          path: `/v2/${repository}/manifests/1`,
          scope: { repository, actions: ['pull'] },
          headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
        });
        expect(response.status).toBe(200);
      }
      expect(tokens.exchanges.map((e) => [e.method, e.fields.refresh_token, e.fields.scope, e.status])).toEqual([
        ['POST', IDENTITY_TOKEN, 'repository:secure:pull', 200],
        ['POST', `${IDENTITY_TOKEN}-rotated-1`, 'repository:other:pull', 200],
      ]);
    } finally {
      await stop();
    }
  });
});
