import { describe, expect, it } from 'vitest';
import { fileSteps, onlyRun, plan, stage, steps } from '../helpers/plan.js';

describe('stages, references and targets (features §1)', () => {
  it('matches stage names case-insensitively in --from and --target', () => {
    const p = plan('FROM busybox AS STAge0\nRUN true\nFROM scratch AS Stage1\nCOPY --from=staGE0 /a /b\n', { target: 'STAGE1' });
    expect(p.target).toEqual({ index: 1, name: 'stage1' });
    expect(fileSteps(p)[0]?.from).toEqual({ kind: 'stage', index: 0, name: 'stage0' });
    expect(stage(p).needs).toEqual([0]);
  });

  it('resolves a numeric --from to the stage with that 0-based index', () => {
    const p = plan('FROM busybox\nFROM busybox\nFROM scratch\nCOPY --from=1 /a /b\n');
    expect(fileSteps(p)[0]?.from).toEqual({ kind: 'stage', index: 1, name: 'stage-1' });
    expect(p.stages.map((s) => s.index)).toEqual([1, 2]);
  });

  it('treats a --from that names no stage as an image', () => {
    const p = plan('FROM scratch\nCOPY --from=busybox:1.36 /bin/busybox /busybox\n');
    expect(fileSteps(p)[0]?.from).toEqual({ kind: 'image', ref: 'busybox:1.36' });
    expect(stage(p).needs).toEqual([]);
  });

  it('lets a stage name shadow an image of the same name', () => {
    const p = plan('FROM busybox AS golang\nRUN true\nFROM golang\nRUN true\n');
    expect(stage(p).base).toEqual({ kind: 'stage', index: 0, name: 'golang' });
  });

  it('treats FROM of a later stage’s name as an image', () => {
    const p = plan('FROM later\nFROM busybox AS later\n', { target: 'later' });
    expect(p.stages.map((s) => s.index)).toEqual([1]);
    const first = plan('FROM later AS first\nFROM busybox AS later\n', { target: 'first' });
    expect(stage(first).base).toEqual({ kind: 'image', ref: 'later' });
  });

  it('keeps only the stages the target needs, through FROM, --from and --mount from=', () => {
    const text = [
      'FROM busybox AS base',
      'FROM busybox AS unused',
      'RUN false',
      'FROM busybox AS assets',
      'FROM base AS tools',
      'FROM base AS final',
      'COPY --from=assets /a /a',
      'RUN --mount=from=tools,target=/t true',
    ].join('\n');
    const p = plan(text);
    expect(p.stages.map((s) => [s.index, s.name, s.needs])).toEqual([
      [0, 'base', []],
      [2, 'assets', []],
      [3, 'tools', [0]],
      [4, 'final', [0, 2, 3]],
    ]);
    expect(onlyRun(p).needs).toEqual([3]);
  });

  it('defaults to the last stage', () => {
    expect(plan('FROM busybox AS a\nFROM busybox AS b\n').target).toEqual({ index: 1, name: 'b' });
  });

  it('expands FROM with global ARGs, # trimming included', () => {
    expect(stage(plan('ARG image=idlebusybox\nFROM busy${image#idle}\n')).base).toEqual({ kind: 'image', ref: 'busybusybox' });
  });

  it('applies FROM --platform with $BUILDPLATFORM', () => {
    const p = plan('FROM --platform=$BUILDPLATFORM busybox\n', { targetPlatform: { os: 'linux', architecture: 'arm64' } });
    expect(stage(p).platform).toBe('linux/amd64');
    expect(p.platforms).toEqual({ build: 'linux/amd64', target: 'linux/arm64' });
  });

  it('numbers FROM image, RUN, COPY, ADD and WORKDIR steps', () => {
    const p = plan(
      'FROM busybox AS base\nENV A=1\nWORKDIR /w\nRUN echo base > base\nFROM scratch\nCOPY --from=base --chmod=0644 /out /out\nLABEL a=b\n',
    );
    expect(p.stages.map((s) => s.steps.map((step) => step.name))).toEqual([
      ['[base 1/3] FROM busybox', 'ENV A=1', '[base 2/3] WORKDIR /w', '[base 3/3] RUN echo base > base'],
      ['[stage-1 1/1] COPY --from=base --chmod=0644 /out /out', 'LABEL a=b'],
    ]);
  });
});

describe('ONBUILD', () => {
  it('runs a parent stage’s triggers first in the child, and the child image has none', () => {
    const p = plan('FROM busybox AS base\nONBUILD RUN echo trigger\nFROM base AS mid\nRUN echo own\n');
    expect(stage(p).steps.map((s) => [s.name, s.onbuild ?? false])).toEqual([
      ['[mid 1/2] RUN echo trigger', true],
      ['[mid 2/2] RUN echo own', false],
    ]);
    expect(stage(p).config.OnBuild).toBeUndefined();
    expect(stage(p, 0).config.OnBuild).toEqual(['RUN echo trigger']);
  });

  it('runs triggers from a base image’s config, which may reference the consumer’s stages', () => {
    const p = plan('FROM busybox AS other\nFROM app\nRUN true\n', {
      baseImages: { app: { OnBuild: ['COPY --from=other /x /y'] } },
    });
    expect(fileSteps(p)[0]).toMatchObject({ onbuild: true, from: { kind: 'stage', index: 0 } });
    expect(stage(p).needs).toEqual([0]);
  });

  it('keeps heredoc bodies in the stored trigger', () => {
    const p = plan('FROM busybox\nONBUILD RUN <<EOF\necho hi\nEOF\n');
    expect(stage(p).config.OnBuild).toEqual(['RUN <<EOF\necho hi\nEOF']);
  });
});

describe('image config', () => {
  it('inherits the base config and adds PATH when missing', () => {
    const p = plan('FROM base\nUSER app\n', { baseImages: { base: { Env: ['HOME=/root'], Cmd: ['sh'], WorkingDir: '/srv' } } });
    expect(stage(p).config).toEqual({
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root'],
      Cmd: ['sh'],
      WorkingDir: '/srv',
      User: 'app',
    });
    expect(stage(p).baseResolved).toBe(true);
  });

  // BuildKit's empty image (FROM scratch) has WorkingDir "/"; an image's own WorkingDir, empty
  // included, is kept until a WORKDIR (issue 14 item 1; checked against Docker Engine 28.5).
  it.each([
    ['FROM scratch starts at /', 'FROM scratch\nENV A=1\n', {}, '/'],
    ['an image with an empty WorkingDir keeps it empty', 'FROM base\nENV A=1\n', { base: { WorkingDir: '' } }, ''],
    ['an image without WorkingDir adds none', 'FROM base\nENV A=1\n', { base: { Cmd: ['sh'] } }, undefined],
    ['an image with WorkingDir keeps it', 'FROM base\nENV A=1\n', { base: { WorkingDir: '/srv' } }, '/srv'],
    ['a relative WORKDIR on an empty one starts at /', 'FROM base\nWORKDIR app\n', { base: { WorkingDir: '' } }, '/app'],
    ['a stage on a scratch stage inherits /', 'FROM scratch AS a\nFROM a\nENV A=1\n', {}, '/'],
    ['a stage on an image stage inherits the empty one', 'FROM base AS a\nFROM a\nENV A=1\n', { base: { WorkingDir: '' } }, ''],
    ['an unresolved image leaves it unknown', 'FROM elsewhere\nENV A=1\n', {}, undefined],
  ])('WorkingDir: %s', (_name, text, baseImages, expected) => {
    expect(stage(plan(text, { baseImages })).config.WorkingDir).toBe(expected);
  });

  it('ENTRYPOINT clears an inherited CMD unless CMD was set in the same stage', () => {
    const base = { baseImages: { base: { Cmd: ['inherited'] } } };
    expect(stage(plan('FROM base\nENTRYPOINT ["/e"]\n', base)).config).toMatchObject({ Entrypoint: ['/e'], Cmd: null });
    expect(stage(plan('FROM base\nCMD ["own"]\nENTRYPOINT ["/e"]\n', base)).config).toMatchObject({ Entrypoint: ['/e'], Cmd: ['own'] });
  });

  it('stores shell-form commands with the SHELL, and invalid JSON as shell form', () => {
    const p = plan('FROM busybox\nCMD foo bar\nSHELL ["ls"]\nENTRYPOINT my entrypoint\n');
    expect(stage(p).config).toMatchObject({ Cmd: ['/bin/sh', '-c', 'foo bar'], Entrypoint: ['ls', 'my entrypoint'], Shell: ['ls'] });
    expect(stage(plan('FROM busybox\nENTRYPOINT []random string\n')).config.Entrypoint).toEqual(['/bin/sh', '-c', '[]random string']);
  });

  it('records HEALTHCHECK as CMD-SHELL, CMD or NONE with durations in nanoseconds', () => {
    const p = plan('FROM busybox\nHEALTHCHECK --interval=1s --timeout=10s --start-period=3s --start-interval=100ms --retries=5 CMD curl -f x\n');
    expect(stage(p).config.Healthcheck).toEqual({
      Test: ['CMD-SHELL', 'curl -f x'],
      Interval: 1e9,
      Timeout: 10e9,
      StartPeriod: 3e9,
      StartInterval: 1e8,
      Retries: 5,
    });
    expect(stage(p).steps[1]?.history?.created_by).toBe(
      'HEALTHCHECK {Test:[CMD-SHELL curl -f x] Interval:1s Timeout:10s StartPeriod:3s StartInterval:100ms Retries:5}',
    );
    expect(stage(plan('FROM busybox\nHEALTHCHECK CMD ["true"]\n')).config.Healthcheck).toEqual({ Test: ['CMD', 'true'] });
    expect(stage(plan('FROM busybox\nHEALTHCHECK NONE\n')).config.Healthcheck).toEqual({ Test: ['NONE'] });
  });

  it('sets labels, volumes, stop signal, user and the final working directory', () => {
    const p = plan(
      'FROM scratch\nARG v=1\nLABEL version=$v "with space"="a b"\nVOLUME ["/data", "/logs"]\nVOLUME /cache\nSTOPSIGNAL SIGKILL\nUSER 1000:1000\n',
      {
        labels: { extra: 'yes' },
      },
    );
    expect(stage(p).config).toEqual({
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Labels: { version: '1', 'with space': 'a b', extra: 'yes' },
      Volumes: { '/data': {}, '/logs': {}, '/cache': {} },
      StopSignal: 'SIGKILL',
      User: '1000:1000',
      WorkingDir: '/',
    });
  });

  it('marks metadata steps as empty layers in history, as BuildKit writes it', () => {
    const p = plan('FROM busybox\nLABEL lbl=val\nARG foo=bar\nWORKDIR /\nCOPY foo2 foo3\nRUN ls\n');
    const comment = 'buildkit.dockerfile.v0';
    expect(stage(p).steps.map((s) => s.history)).toEqual([
      { created_by: 'FROM busybox' },
      { created_by: 'LABEL lbl=val', comment, empty_layer: true },
      { created_by: 'ARG foo=bar', comment, empty_layer: true },
      { created_by: 'WORKDIR /', comment, empty_layer: true },
      { created_by: 'COPY foo2 foo3 # buildkit', comment },
      { created_by: 'RUN |1 foo=bar /bin/sh -c ls # buildkit', comment },
    ]);
  });

  // Checked against Docker 20.10's BuildKit and BuildKit's dispatchCopy/commitToHistory.
  it.each([
    ['WORKDIR /w\nCOPY a.txt .', 'COPY a.txt . # buildkit'],
    ['ARG D=out\nCOPY --chown=1:1 --chmod=755 a b ${D}/', 'COPY --chown=1:1 --chmod=755 a b out/ # buildkit'],
    ['COPY --parents --link x/./y /z', 'COPY --parents x/./y /z # buildkit'],
    ['COPY <<EOF /f\nhi\nEOF', 'COPY <<EOF /f # buildkit'],
    ['ADD --chmod=600 f.tar /t', 'ADD --chmod=600 f.tar /t # buildkit'],
  ])('history of %j is %j', (body, createdBy) => {
    const p = plan(`FROM busybox\n${body}\n`);
    expect(
      steps(p, 'file')
        .filter((s) => s.action !== 'mkdir')
        .map((s) => s.history?.created_by),
    ).toEqual([createdBy]);
  });

  it('ONBUILD adds no history entry; CMD sets ArgsEscaped', () => {
    const p = plan('FROM busybox\nONBUILD RUN echo hi\nCMD ["cat"]\n');
    expect(stage(p).steps.map((s) => s.history?.created_by)).toEqual(['FROM busybox', undefined, 'CMD ["cat"]']);
    expect(stage(p).config.OnBuild).toEqual(['RUN echo hi']);
    expect(stage(p).config.ArgsEscaped).toBe(true);
  });
});

// BuildKit's stage starts from its base's whole config, the author (MAINTAINER) included.
describe('the image author', () => {
  it.each([
    ['MAINTAINER in the stage', 'FROM busybox\nMAINTAINER me\n', {}, 'me'],
    ['a parent stage’s MAINTAINER', 'FROM busybox AS parent\nMAINTAINER Jane <j@x>\nFROM parent\nRUN true\n', {}, 'Jane <j@x>'],
    ['the base image’s author', 'FROM busybox\nRUN true\n', { busybox: 'upstream' }, 'upstream'],
    ['MAINTAINER replacing the base image’s', 'FROM busybox\nMAINTAINER me\n', { busybox: 'upstream' }, 'me'],
    ['none on scratch', 'FROM scratch\n', { busybox: 'upstream' }, undefined],
    ['none from a stage without one', 'FROM busybox AS a\nFROM a\n', {}, undefined],
  ])('%s', (_name, text, baseAuthors, author) => {
    expect(stage(plan(text, { baseAuthors })).author).toBe(author);
  });
});
