/**
 * Named contexts in the plan and on the command line, with BuildKit's rules: names are looked up in
 * their familiar form, a stage of the name is replaced, FROM / COPY --from / RUN --mount from= read
 * the context, `scratch` and `context` are never contexts; the flag's sources parse as buildx's do.
 */
import { describe, expect, it } from 'vitest';
import { parseBuildContext } from '../../src/builder/named-contexts.js';
import { parseSsh } from '../../src/builder/ssh-agents.js';
import { contextKey, namedContextRef } from '../../src/plan/named-contexts.js';
import { fileSteps, onlyRun, plan, stage } from '../helpers/plan.js';

describe('named contexts in the plan', () => {
  it.each([
    ['alpine', 'alpine'],
    ['alpine:latest', 'alpine'],
    ['docker.io/library/alpine:latest', 'alpine'],
    ['docker.io/me/app:1', 'me/app:1'],
    ['registry.example:5000/app:latest', 'registry.example:5000/app'],
    ['app@sha256:' + 'a'.repeat(64), 'app@sha256:' + 'a'.repeat(64)],
  ])('%s is looked up as %s', (ref, key) => {
    expect(contextKey(ref)).toBe(key);
  });

  it('never takes scratch or context as a context name', () => {
    expect(namedContextRef({ scratch: 'x', context: 'y' }, 'scratch')).toBeUndefined();
    expect(namedContextRef({ scratch: 'x', context: 'y' }, 'context')).toBeUndefined();
  });

  const contexts = { base: 'ctx/base@sha256:1', deps: 'ctx/deps@sha256:2', tools: 'ctx/tools@sha256:3' };
  it('serves FROM, COPY --from and RUN --mount from=, and replaces a stage of its name', () => {
    const p = plan(
      [
        'FROM alpine AS deps',
        'RUN must not run',
        'FROM docker.io/library/base:latest',
        'COPY --from=deps /lib /lib',
        'RUN --mount=from=tools,target=/t /t/run',
      ].join('\n'),
      { namedContexts: contexts },
    );
    expect(p.stages.map((s) => [s.index, s.base])).toEqual([
      [0, { kind: 'image', ref: 'ctx/deps@sha256:2' }],
      [1, { kind: 'image', ref: 'ctx/base@sha256:1' }],
    ]);
    expect(stage(p, 0).steps.map((s) => s.kind)).toEqual(['source']);
    expect(fileSteps(p)[0]?.from).toEqual({ kind: 'stage', index: 0, name: 'deps' });
    expect(onlyRun(p).mounts[0]).toMatchObject({ type: 'bind', from: { kind: 'image', ref: 'ctx/tools@sha256:3' } });
  });

  it('leaves names that are no context alone', () => {
    const p = plan('FROM alpine\nCOPY --from=busybox /bin/busybox /\n', { namedContexts: contexts });
    expect(stage(p).base).toEqual({ kind: 'image', ref: 'alpine' });
    expect(fileSteps(p)[0]?.from).toEqual({ kind: 'image', ref: 'busybox' });
  });
});

describe('--build-context and --ssh values', () => {
  it.each([
    ['base=docker-image://alpine:3.20', { name: 'base', kind: 'image', ref: 'alpine:3.20' }],
    ['docker.io/library/alpine:latest=docker-image://mirror/alpine', { name: 'alpine', kind: 'image', ref: 'mirror/alpine' }],
    ['base=oci-layout:///srv/layout:v2', { name: 'base', kind: 'oci-layout', dir: '/srv/layout', tag: 'v2' }],
    ['base=oci-layout://./out', { name: 'base', kind: 'oci-layout', dir: './out' }],
    [`base=oci-layout://l@sha256:${'b'.repeat(64)}`, { name: 'base', kind: 'oci-layout', dir: 'l', digest: `sha256:${'b'.repeat(64)}` }],
    ['src=https://host/repo.git#main:sub', { name: 'src', kind: 'git', url: 'https://host/repo.git#main:sub' }],
    ['src=git@host:me/repo.git', { name: 'src', kind: 'git', url: 'git@host:me/repo.git' }],
    ['blob=https://host/file.bin', { name: 'blob', kind: 'url', url: 'https://host/file.bin' }],
    ['deps=../deps', { name: 'deps', kind: 'dir', dir: '../deps' }],
  ])('%s', (text, expected) => {
    expect(parseBuildContext(text)).toEqual(expected);
  });

  it.each([
    ['base', 'invalid --build-context "base": expected NAME=SOURCE'],
    ['base=', 'invalid --build-context "base=": expected NAME=SOURCE'],
    ['Base=/x', 'invalid --build-context "Base=/x": invalid context name Base'],
    ['base=oci-layout://l@sha256:12', 'invalid --build-context "base=oci-layout://l@sha256:12": bad digest sha256:12'],
    ['base=s3://bucket/x', '--build-context "base=s3://bucket/x": unsupported context source s3'],
    ['base=input:x', '--build-context "base=input:x": input: contexts are for frontends, not supported'],
  ])('refuses %s', (text, message) => {
    expect(() => parseBuildContext(text)).toThrow(message);
  });

  it.each([
    ['default', { id: 'default', paths: [] }],
    ['default=/run/agent.sock', { id: 'default', paths: ['/run/agent.sock'] }],
    ['deploy=/k/a,/k/b', { id: 'deploy', paths: ['/k/a', '/k/b'] }],
  ])('--ssh %s', (text, expected) => {
    expect(parseSsh(text)).toEqual(expected);
  });

  it.each([
    ['', 'invalid --ssh "": expected default, ID=SOCKET or ID=KEY[,KEY]'],
    ['a b=/x', 'invalid --ssh "a b=/x": expected default, ID=SOCKET or ID=KEY[,KEY]'],
    ['k=/a,,/b', 'invalid --ssh "k=/a,,/b": an empty path'],
  ])('refuses --ssh %j', (text, message) => {
    expect(() => parseSsh(text)).toThrow(message);
  });
});
