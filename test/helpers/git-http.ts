/**
 * A git repository served over git's smart HTTP protocol, for `ADD <git>` cases that both tsbuild
 * and BuildKit must reach: the test makes a bare repository and answers `/NAME.git/...` requests
 * by running git's own CGI program, `git http-backend`, so the protocol is git's, not ours (the
 * dumb protocol would not do: it has no shallow fetch, which BuildKit asks for).
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';

const backend = '/usr/lib/git-core/git-http-backend';

/** What `makeRepository` made: where the bare repository is and the commits it holds. */
export interface TestRepository {
  /** The directory holding `repo.git`, given to `serveGit` as the project root. */
  root: string;
  /** The commit the tag `v1` names, and the branch `main`'s head. */
  v1: string;
  head: string;
}

/**
 * Makes `root/repo.git`: a commit tagged `v1` (a README, an executable script in `sub/`, a
 * symlink) and a second one on `main` that changes the README and adds `sub/later.txt`. Author
 * and committer times are fixed, so the commits are the same on every run.
 */
export function makeRepository(root: string): TestRepository {
  const work = path.join(root, 'work');
  mkdirSync(work, { recursive: true });
  const env = {
    ...process.env,
    GIT_AUTHOR_DATE: '2020-01-01T00:00:00Z',
    GIT_COMMITTER_DATE: '2020-01-01T00:00:00Z',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
  };
  const git = (args: string[], cwd = work): string =>
    execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd, env, encoding: 'utf8' }).trim();
  git(['init', '-q', '-b', 'main']);
  writeFileSync(path.join(work, 'README'), 'v1\n');
  mkdirSync(path.join(work, 'sub'));
  writeFileSync(path.join(work, 'sub', 'tool.sh'), '#!/bin/sh\necho tool\n');
  chmodSync(path.join(work, 'sub', 'tool.sh'), 0o755);
  symlinkSync('sub/tool.sh', path.join(work, 'tool'));
  git(['add', '.']);
  git(['commit', '-qm', 'v1']);
  git(['tag', 'v1']);
  const v1 = git(['rev-parse', 'HEAD']);
  writeFileSync(path.join(work, 'README'), 'v2\n');
  writeFileSync(path.join(work, 'sub', 'later.txt'), 'later\n');
  git(['add', '.']);
  git(['commit', '-qm', 'v2']);
  const head = git(['rev-parse', 'HEAD']);
  git(['clone', '-q', '--bare', work, path.join(root, 'repo.git')], root);
  return { root, v1, head };
}

/**
 * Answers one request with `git http-backend` for the repositories under `projectRoot`: the
 * request goes to the CGI program (method, path, query, body on stdin) and its CGI reply (headers,
 * a blank line, the body) back to the client.
 */
export function serveGit(projectRoot: string, req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const cgi = spawn(backend, [], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      GIT_PROJECT_ROOT: projectRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      GIT_CONFIG_NOSYSTEM: '1',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
      ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
      ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
      REMOTE_ADDR: '127.0.0.1',
    },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  req.pipe(cgi.stdin);
  let head = Buffer.alloc(0);
  let started = false;
  cgi.stdout.on('data', (chunk: Buffer) => {
    if (started) return void res.write(chunk);
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    started = true;
    let status = 200;
    for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = parseInt(value, 10);
      else res.setHeader(name, value);
    }
    res.writeHead(status);
    res.write(head.subarray(end + 4));
  });
  cgi.on('close', (code) => {
    if (!started) res.writeHead(code === 0 ? 200 : 500);
    res.end();
  });
  cgi.on('error', () => {
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
}
