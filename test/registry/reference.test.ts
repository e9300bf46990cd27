import { describe, expect, it } from 'vitest';
import { familiarName, formatReference, parseReference } from '../../src/registry/reference.js';
import { selectManifest } from '../../src/image/platform.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseReference normalises like docker', () => {
  it.each([
    ['alpine', 'docker.io/library/alpine:latest', 'alpine'],
    ['alpine:3.20', 'docker.io/library/alpine:3.20', 'alpine'],
    ['user/app', 'docker.io/user/app:latest', 'user/app'],
    ['docker.io/library/busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox'],
    ['index.docker.io/user/app', 'docker.io/user/app:latest', 'user/app'],
    ['localhost/app', 'localhost/app:latest', 'localhost/app'],
    ['localhost:5000/a/b:tag', 'localhost:5000/a/b:tag', 'localhost:5000/a/b'],
    ['127.0.0.1:5000/app', '127.0.0.1:5000/app:latest', '127.0.0.1:5000/app'],
    ['ghcr.io/org/team/app:v1.2.3-rc.1', 'ghcr.io/org/team/app:v1.2.3-rc.1', 'ghcr.io/org/team/app'],
    [`app@${D}`, `docker.io/library/app@${D}`, 'app'],
    [`app:1.0@${D}`, `docker.io/library/app:1.0@${D}`, 'app'],
    ['[::1]:5000/app', '[::1]:5000/app:latest', '[::1]:5000/app'],
    ['my_org/app__x/a-b.c', 'docker.io/my_org/app__x/a-b.c:latest', 'my_org/app__x/a-b.c'],
  ])('%s → %s', (text, canonical, familiar) => {
    const ref = parseReference(text);
    expect(formatReference(ref)).toBe(canonical);
    expect(familiarName(ref)).toBe(familiar);
  });

  it.each([
    ['', 'invalid reference "": empty'],
    ['Alpine', 'invalid reference "Alpine": repository name must be lowercase'],
    ['app:bad tag', 'invalid reference "app:bad tag": bad tag "bad tag"'],
    ['app@sha256:abc', 'invalid reference "app@sha256:abc": bad digest "sha256:abc"'],
    [
      'app@md5:d41d8cd98f00b204e9800998ecf8427e',
      'invalid reference "app@md5:d41d8cd98f00b204e9800998ecf8427e": bad digest "md5:d41d8cd98f00b204e9800998ecf8427e"',
    ],
    ['-app', 'invalid reference "-app": repository name must be lowercase letters, digits and separators (. _ __ -) between them'],
    ['a//b', 'invalid reference "a//b": repository name must be lowercase letters, digits and separators (. _ __ -) between them'],
    ['bad_host.:5000/app', 'invalid reference "bad_host.:5000/app": bad registry host "bad_host.:5000"'],
  ])('rejects %j', (text, message) => {
    expect(() => parseReference(text)).toThrow(message);
  });
});

describe('selectManifest', () => {
  const m = (digest: string, platform: { os: string; architecture: string; variant?: string }) => ({ mediaType: 'x', digest, size: 1, platform });
  const index = [
    m('amd64', { os: 'linux', architecture: 'amd64' }),
    m('armv6', { os: 'linux', architecture: 'arm', variant: 'v6' }),
    m('armv7', { os: 'linux', architecture: 'arm', variant: 'v7' }),
    m('arm64', { os: 'linux', architecture: 'arm64', variant: 'v8' }),
    m('win', { os: 'windows', architecture: 'amd64' }),
  ];
  it.each([
    [{ os: 'linux', architecture: 'amd64' }, 'amd64'],
    [{ os: 'linux', architecture: 'arm64' }, 'arm64'],
    [{ os: 'linux', architecture: 'arm', variant: 'v7' }, 'armv7'],
    [{ os: 'linux', architecture: 'arm', variant: 'v6' }, 'armv6'],
    [{ os: 'windows', architecture: 'amd64' }, 'win'],
  ])('%o → %s', (wanted, digest) => {
    expect(selectManifest(index, wanted)?.digest).toBe(digest);
  });
  it('finds nothing for a platform the index lacks', () => {
    expect(selectManifest(index, { os: 'linux', architecture: 's390x' })).toBeUndefined();
  });
});
