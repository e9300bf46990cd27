// The extra CA bundle (NODE_EXTRA_CA_CERTS) through the installed command: bin/tsbuild.js, run as
// a program, hands the bundle to the https client instead of letting Node read it at start-up.
// Each row builds `ADD https://127.0.0.1:PORT/file` against an https server whose certificate is
// self-signed, so the build succeeds only when that certificate is trusted.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tsbuildAsync } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs('tsbuild-extra-ca-');
let server: https.Server;
let port: number;
let certFile: string;
let keep: string;
let showEnv: string;

beforeAll(async () => {
  // Not a per-test dir: the certificate and the preload serve every row.
  keep = mkdtempSync(path.join(os.tmpdir(), 'tsbuild-extra-ca-'));
  certFile = path.join(keep, 'cert.pem');
  const keyFile = path.join(keep, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1'].concat([
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ]),
    { stdio: 'ignore' },
  );
  server = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (_req, res) => res.end('served over tls\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  // A module preloaded into the command's Node process prints what it sees of the two variables.
  showEnv = path.join(keep, 'show-env.mjs');
  writeFileSync(
    showEnv,
    'process.stderr.write(`env ${JSON.stringify([process.env.NODE_EXTRA_CA_CERTS ?? null, process.env.TSBUILD_EXTRA_CA_CERTS ?? null])}\\n`);\n',
  );
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(keep, { recursive: true, force: true });
});

describe('NODE_EXTRA_CA_CERTS', () => {
  const rows: { name: string; asProgram: boolean; trust: boolean; built: boolean; env: (cert: string) => [string | null, string | null] }[] = [
    { name: 'installed command, bundle given', asProgram: true, trust: true, built: true, env: (cert) => [null, cert] },
    { name: 'installed command, no bundle', asProgram: true, trust: false, built: false, env: () => [null, null] },
    { name: 'node bin/tsbuild.js, bundle given', asProgram: false, trust: true, built: true, env: (cert) => [cert, null] },
  ];

  it.each(rows)('$name', async ({ asProgram, trust, built, env }) => {
    const dir = tempDir();
    const context = path.join(dir, 'context');
    execFileSync('mkdir', ['-p', context]);
    writeFileSync(path.join(context, 'Dockerfile'), `FROM scratch\nADD https://127.0.0.1:${port}/file /file\n`);
    const out = path.join(dir, 'out');
    const result = await tsbuildAsync(['--root', path.join(dir, 'root'), 'build', '--progress=quiet', '-o', `type=local,dest=${out}`, context], {
      asProgram,
      // Undefined removes a variable from the command's environment.
      env: {
        NODE_EXTRA_CA_CERTS: trust ? certFile : undefined,
        TSBUILD_EXTRA_CA_CERTS: undefined,
        NODE_OPTIONS: `--import=${pathToFileURL(showEnv).href}`,
      },
      timeout: 60_000,
    });
    const seen = /^env (.*)$/m.exec(result.stderr)?.[1];
    expect(seen === undefined ? undefined : (JSON.parse(seen) as unknown)).toEqual(env(certFile));
    if (built) {
      expect([result.status, result.stderr.replace(/^env .*\n/m, '')]).toEqual([0, '']);
      expect(readFileSync(path.join(out, 'file'), 'utf8')).toBe('served over tls\n');
    } else {
      expect(result.status).not.toBe(0);
      // The closing line of buildx's error display names the URL and what TLS refused.
      expect(result.stderr.trimEnd().split('\n').pop()).toBe(
        `ERROR: failed to build: failed to solve: ADD https://127.0.0.1:${port}/file: DEPTH_ZERO_SELF_SIGNED_CERT (self-signed certificate)`,
      );
    }
  });
});
