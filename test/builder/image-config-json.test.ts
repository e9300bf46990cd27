/**
 * The image config as written, byte for byte where BuildKit's Go types decide it: the container
 * config's fields (only the ones BuildKit's type has, none empty: Go's `omitempty`) and the
 * `created` times (RFC 3339 with nanoseconds, trailing zeros dropped). The BuildKit comparison
 * (`buildkit-compare.test.ts`) compares the keys against current BuildKit; these pin the rules.
 */
import { describe, expect, it } from 'vitest';
import { writeImage, writtenConfig } from '../../src/builder/assemble.js';
import { createdAt } from '../../src/builder/source-date-epoch.js';
import { goTime } from '../../src/util/go-time.js';
import { MemoryContentStore } from '../../src/content/memory-store.js';
import type { ContainerConfig } from '../../src/image/oci-types.js';

describe('the container config as written', () => {
  it.each<[string, Record<string, unknown>, ContainerConfig]>([
    ['an empty WorkingDir (a base image’s) is left out', { Env: ['A=1'], WorkingDir: '' }, { Env: ['A=1'] }],
    ['a set WorkingDir stays', { WorkingDir: '/' }, { WorkingDir: '/' }],
    [
      'empty lists, maps, strings and null are left out',
      { User: '', Cmd: [], Entrypoint: null, Labels: {}, OnBuild: null, Volumes: {}, StopSignal: '', Shell: [] },
      {},
    ],
    ['ArgsEscaped false is left out, true stays', { ArgsEscaped: false, Cmd: ['sh'] }, { Cmd: ['sh'] }],
    ['ArgsEscaped true stays', { ArgsEscaped: true }, { ArgsEscaped: true }],
    [
      'fields of the classic builder’s config BuildKit’s type lacks are left out',
      { Hostname: '', Domainname: '', AttachStdin: false, Tty: false, Image: 'sha256:abc', Env: ['PATH=/bin'] },
      { Env: ['PATH=/bin'] },
    ],
    [
      'a port with an empty object and a healthcheck stay',
      { ExposedPorts: { '80/tcp': {} }, Healthcheck: { Test: ['NONE'] } },
      { ExposedPorts: { '80/tcp': {} }, Healthcheck: { Test: ['NONE'] } },
    ],
  ])('%s', (_name, config, expected) => {
    expect(writtenConfig(config as ContainerConfig)).toEqual(expected);
  });

  it('writes the config blob without the empty keys', async () => {
    const store = new MemoryContentStore();
    const { config } = await writeImage(
      {
        platform: { os: 'linux', architecture: 'amd64' },
        config: { Env: ['PATH=/bin'], WorkingDir: '', Cmd: ['sh'] },
        layers: [],
        history: [],
        created: goTime(new Date(0)),
      },
      store,
    );
    const written = JSON.parse((await store.readBytes(config)).toString('utf8')) as Record<string, unknown>;
    expect(written.config).toEqual({ Cmd: ['sh'], Env: ['PATH=/bin'] });
    expect(written.created).toBe('1970-01-01T00:00:00Z');
  });
});

describe('created times', () => {
  it.each([
    ['whole seconds: no fraction', Date.UTC(2020, 8, 13, 12, 26, 40), '2020-09-13T12:26:40Z'],
    ['milliseconds', Date.UTC(2020, 8, 13, 12, 26, 40, 123), '2020-09-13T12:26:40.123Z'],
    ['trailing zeros dropped', Date.UTC(2020, 8, 13, 12, 26, 40, 120), '2020-09-13T12:26:40.12Z'],
    ['one digit', Date.UTC(2020, 8, 13, 12, 26, 40, 500), '2020-09-13T12:26:40.5Z'],
    ['the epoch', 0, '1970-01-01T00:00:00Z'],
  ])('%s', (_name, ms, expected) => {
    expect(goTime(new Date(ms))).toBe(expected);
  });

  it('SOURCE_DATE_EPOCH gives whole seconds as BuildKit writes them', () => {
    expect(createdAt(1700000000)).toBe('2023-11-14T22:13:20Z');
  });
});
