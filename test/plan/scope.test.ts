import { describe, expect, it } from 'vitest';
import { DEFAULT_PATH_ENV, onlyRun, plan, stage, steps } from '../helpers/plan.js';

const ARM64 = { os: 'linux', architecture: 'arm64' };

describe('ARG scope (features §2)', () => {
  it('global ARGs reach a stage only when redeclared, with quoted defaults and references', () => {
    const p = plan('ARG a1="foo bar" a2=box\nARG a3="$a2-foo"\nFROM busybox\nARG a3 a4="123 456" a1\nRUN echo $a1:$a3:$a4\n');
    expect(onlyRun(p).env).toEqual([DEFAULT_PATH_ENV, 'a3=box-foo', 'a4=123 456', 'a1=foo bar']);
  });

  it('a global ARG that is not redeclared is invisible in the stage', () => {
    const p = plan('ARG G=global\nFROM busybox\nENV SEEN=${G:-unset}\n');
    expect(stage(p).config.Env).toEqual([DEFAULT_PATH_ENV, 'SEEN=unset']);
  });

  it('a build-arg overrides the default, which is then never evaluated', () => {
    const text = 'FROM busybox\nARG BAR=${FOO:?"foo missing"}\nRUN true\n';
    expect(onlyRun(plan(text, { buildArgs: { BAR: 'given' } })).env).toEqual([DEFAULT_PATH_ENV, 'BAR=given']);
    expect(onlyRun(plan(text, { buildArgs: { FOO: 'f' } })).env).toEqual([DEFAULT_PATH_ENV, 'BAR=f']);
  });

  it('a global default is only evaluated without a build-arg', () => {
    const p = plan('ARG FOO=${FOO:?"custom error"}\nFROM busybox:${FOO}\n', { buildArgs: { FOO: '1.36' } });
    expect(stage(p).base).toEqual({ kind: 'image', ref: 'busybox:1.36' });
  });

  it('ARG without value is absent from RUN; ARG with an empty value is present', () => {
    expect(onlyRun(plan('FROM busybox\nARG FOO\nARG BAR=\nRUN env\n')).env).toEqual([DEFAULT_PATH_ENV, 'BAR=']);
  });

  it('ARG values never reach the image config', () => {
    expect(stage(plan('FROM busybox\nARG SECRET=x\nRUN true\n')).config.Env).toEqual([DEFAULT_PATH_ENV]);
  });

  // Seen with Docker's BuildKit: ARG values live in the LLB state's env, which a child stage starts from.
  // Docker Engine 28.5's BuildKit (the comparison's basics-target and args-env cases).
  it('a stage FROM another stage sees its ARGs in expansion, RUN and the RUN history prefix', () => {
    const p = plan('FROM busybox AS base\nARG VERSION=1.0\nFROM base AS child\nARG VERSION\nLABEL v=$VERSION\nRUN echo $VERSION\n', {
      target: 'child',
    });
    const child = stage(p);
    expect(child.config.Labels).toEqual({ v: '1.0' });
    expect(child.steps.map((s) => s.history?.created_by)).toEqual([
      'ARG VERSION',
      'LABEL v=1.0',
      'RUN |1 VERSION=1.0 /bin/sh -c echo $VERSION # buildkit',
    ]);
    expect(onlyRun(p).env).toEqual([DEFAULT_PATH_ENV, 'VERSION=1.0']);
    const other = plan('FROM busybox AS base\nARG VERSION=1.0\nFROM base AS other\nRUN true\n');
    expect([onlyRun(other).env, onlyRun(other).history?.created_by]).toEqual([
      [DEFAULT_PATH_ENV, 'VERSION=1.0'],
      'RUN |1 VERSION=1.0 /bin/sh -c true # buildkit',
    ]);
  });

  it.each([
    ['an unset ARG as NAME=', 'ARG A=1 UNSET\nRUN true', 'RUN |2 A=1 UNSET= /bin/sh -c true # buildkit'],
    ['an ENV of the same name winning', 'ARG A=1\nENV A=2\nRUN true', 'RUN |1 A=2 /bin/sh -c true # buildkit'],
    [
      'inherited ARGs first, a redeclared one at its first place',
      'ARG B=2\nFROM base\nARG C=3 B\nRUN true',
      'RUN |3 A=1 B=2 C=3 /bin/sh -c true # buildkit',
    ],
  ])('the RUN history prefix has %s', (_name, text, createdBy) => {
    const dockerfile = text.startsWith('ARG B') ? `FROM busybox AS base\nARG A=1\n${text}\n` : `FROM busybox\n${text}\n`;
    expect(onlyRun(plan(dockerfile)).history?.created_by).toBe(createdBy);
  });

  it('the build-arg wins over a redeclared global default', () => {
    const p = plan('ARG V=global\nFROM busybox\nARG V\nRUN true\n', { buildArgs: { V: 'cli' } });
    expect(onlyRun(p).env).toEqual([DEFAULT_PATH_ENV, 'V=cli']);
  });

  it('an empty build-arg is empty for ${x:-default}', () => {
    const p = plan('FROM busybox\nARG my_arg\nENV my_env=${my_arg:-def_val}\n', { buildArgs: { my_arg: '' } });
    expect(stage(p).config.Env).toEqual([DEFAULT_PATH_ENV, 'my_env=def_val']);
  });

  it('records the first-declaration order of ARGs and their final values in RUN history', () => {
    const p = plan('FROM busybox\nARG foo=bar\nARG bar=123\nARG foo=bar2\nRUN ls\n');
    expect(onlyRun(p).history).toEqual({ created_by: 'RUN |2 foo=bar2 bar=123 /bin/sh -c ls # buildkit', comment: 'buildkit.dockerfile.v0' });
  });

  it('reports build-args that no ARG consumed', () => {
    expect(plan('FROM busybox\nARG USED\n', { buildArgs: { USED: '1', UNUSED: '2' } }).warnings).toEqual([
      'One or more build-args [UNUSED] were not consumed',
    ]);
  });

  it('never reports SOURCE_DATE_EPOCH: the builder consumes it (it fixes the build times)', () => {
    expect(plan('FROM busybox\n', { buildArgs: { SOURCE_DATE_EPOCH: '1577836800', OTHER: '1' } }).warnings).toEqual([
      'One or more build-args [OTHER] were not consumed',
    ]);
  });
});

describe('ENV', () => {
  it('expands every pair with the values from before the instruction', () => {
    const p = plan('FROM busybox\nENV a=1\nENV a=2 b=$a\n');
    expect(stage(p).config.Env).toEqual([DEFAULT_PATH_ENV, 'a=2', 'b=1']);
  });

  it('replaces an existing key in place', () => {
    const p = plan('FROM base\nENV A=3\n', { baseImages: { base: { Env: ['A=1', 'B=2', 'PATH=/bin'] } } });
    expect(stage(p).config.Env).toEqual(['A=3', 'B=2', 'PATH=/bin']);
  });

  it('wins over an ARG of the same name in expansion and in RUN', () => {
    const p = plan('FROM busybox\nARG X=arg\nENV X=env\nENV Y=$X\nRUN true\n');
    expect(onlyRun(p).env).toEqual([DEFAULT_PATH_ENV, 'X=env', 'Y=env']);
  });

  it('keeps legacy values literally, spaces and percent signs included', () => {
    const p = plan('FROM busybox\nENV myenv foo%sbar\nENV spaced  a  b\n');
    expect(stage(p).config.Env).toEqual([DEFAULT_PATH_ENV, 'myenv=foo%sbar', 'spaced=a  b']);
  });
});

describe('predefined platform args', () => {
  it('are usable in FROM without declaration', () => {
    const p = plan('FROM build-${TARGETOS}-${TARGETARCH}\n', { targetPlatform: ARM64 });
    expect(stage(p).base).toEqual({ kind: 'image', ref: 'build-linux-arm64' });
  });

  it('are visible in a stage after ARG, describing target and build platform', () => {
    const p = plan('FROM busybox\nARG TARGETPLATFORM BUILDPLATFORM TARGETVARIANT\nRUN true\n', {
      targetPlatform: { os: 'linux', architecture: 'arm', variant: 'v6' },
    });
    expect(onlyRun(p).env).toEqual([DEFAULT_PATH_ENV, 'TARGETPLATFORM=linux/arm/v6', 'BUILDPLATFORM=linux/amd64', 'TARGETVARIANT=v6']);
  });

  it('are not in a stage without ARG', () => {
    expect(onlyRun(plan('FROM busybox\nRUN true\n')).env).toEqual([DEFAULT_PATH_ENV]);
  });

  it('a build-arg overrides only the one it names', () => {
    const p = plan('FROM busybox\nARG TARGETOS TARGETARCH\nRUN true\n', { buildArgs: { TARGETOS: 'freebsd' } });
    expect(onlyRun(p).env).toEqual([DEFAULT_PATH_ENV, 'TARGETOS=freebsd', 'TARGETARCH=amd64']);
  });

  it.each([
    ['the requested target', 'FROM busybox AS foo\nARG TARGETSTAGE\nRUN true\nFROM scratch AS final\n', 'foo', 'foo'],
    ['default for an unnamed last stage', 'FROM busybox\nARG TARGETSTAGE\nRUN true\n', undefined, 'default'],
    ['the last stage’s name', 'FROM busybox AS final\nARG TARGETSTAGE\nRUN true\n', undefined, 'final'],
  ])('TARGETSTAGE is %s', (_name, text, target, value) => {
    const p = plan(text, target === undefined ? {} : { target });
    expect(onlyRun(p).env).toEqual([DEFAULT_PATH_ENV, `TARGETSTAGE=${value}`]);
  });
});

describe('proxy args', () => {
  it('reach RUN without ARG, in any case, outside the cache-relevant env', () => {
    const run = onlyRun(plan('FROM busybox\nRUN true\n', { buildArgs: { http_proxy: 'http://p:3128', NO_PROXY: 'local' } }));
    expect(run.env).toEqual([DEFAULT_PATH_ENV]);
    expect(run.proxyEnv).toEqual(['HTTP_PROXY=http://p:3128', 'http_proxy=http://p:3128', 'NO_PROXY=local', 'no_proxy=local']);
  });

  // BuildKit's RUN gets each proxy in both spellings (`env | grep -i proxy` in its RUN shows ten lines for five args).
  it.each([
    ['upper case', { FTP_PROXY: 'f' }, ['FTP_PROXY=f', 'ftp_proxy=f']],
    ['lower case', { all_proxy: 'a' }, ['ALL_PROXY=a', 'all_proxy=a']],
    ['mixed case', { Https_Proxy: 's' }, ['HTTPS_PROXY=s', 'https_proxy=s']],
    ['both spellings: the upper-case value wins', { http_proxy: 'low', HTTP_PROXY: 'up' }, ['HTTP_PROXY=up', 'http_proxy=up']],
  ])('reach RUN in upper and lower case: %s', (_name, buildArgs, expected) => {
    expect(onlyRun(plan('FROM busybox\nRUN true\n', { buildArgs })).proxyEnv).toEqual(expected);
  });

  it('are not reported as unused', () => {
    expect(plan('FROM busybox\n', { buildArgs: { HTTPS_PROXY: 'x' } }).warnings).toEqual([]);
  });
});

describe('EXPOSE expansion', () => {
  it('splits an ARG into ports, defaults to tcp and expands ranges', () => {
    const p = plan('FROM busybox\nARG PORTS="3000 4000/udp"\nEXPOSE $PORTS\nEXPOSE 5000 6000-6002/TCP 127.0.0.1:80:8080/udp\n');
    expect(Object.keys(stage(p).config.ExposedPorts ?? {})).toEqual([
      '3000/tcp',
      '4000/udp',
      '5000/tcp',
      '6000/tcp',
      '6001/tcp',
      '6002/tcp',
      '8080/udp',
    ]);
    expect(steps(p, 'config').map((s) => s.history?.created_by)).toEqual([
      'ARG PORTS=3000 4000/udp',
      'EXPOSE [3000/tcp 4000/udp]',
      'EXPOSE [5000/tcp 6000/tcp 6001/tcp 6002/tcp 8080/udp]',
    ]);
  });
});
