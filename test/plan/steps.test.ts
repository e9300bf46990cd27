import { describe, expect, it } from 'vitest';
import type { Mount } from '../../src/plan/types.js';
import { fileSteps, onlyRun, plan, stage } from '../helpers/plan.js';

describe('RUN argv', () => {
  it.each([
    ['shell form through the default SHELL', 'RUN echo hi', ['/bin/sh', '-c', 'echo hi']],
    ['exec form as is', 'RUN ["echo", "hi"]', ['echo', 'hi']],
    ['invalid JSON silently as shell form', 'RUN ["echo", "hello"]this is invalid', ['/bin/sh', '-c', '["echo", "hello"]this is invalid']],
    ['a lone heredoc as the script', 'RUN <<EOF\necho "i am" >> /dest; whoami\nEOF', ['/bin/sh', '-c', 'echo "i am" >> /dest; whoami\n']],
    ['a <<- heredoc with tabs stripped', 'RUN <<-EOF\n\techo a\n\t\techo b\n\tEOF', ['/bin/sh', '-c', 'echo a\necho b\n']],
    ['heredocs with other words to the shell verbatim', 'RUN <<EOF sh > /out\necho $X\nEOF', ['/bin/sh', '-c', '<<EOF sh > /out\necho $X\nEOF']],
    [
      'several heredocs with file descriptors',
      'RUN cat /dev/fd/3 /dev/fd/4 3<<IN1 4<<IN2\na\nIN1\nb\nIN2',
      ['/bin/sh', '-c', 'cat /dev/fd/3 /dev/fd/4 3<<IN1 4<<IN2\na\nIN1\nb\nIN2'],
    ],
  ])('%s', (_name, run, args) => {
    expect(onlyRun(plan(`FROM busybox\n${run}\n`)).args).toEqual(args);
  });

  // As BuildKit: the shell runs the file (Docker Engine 28.5 records `/bin/sh -c /dev/pipes/EOF`).
  it('runs a #! heredoc as an executable file, through SHELL', () => {
    const run = onlyRun(plan('FROM busybox\nRUN <<EOF\n#!/bin/awk -f\nBEGIN { print "x" }\nEOF\n'));
    expect(run.args).toEqual(['/bin/sh', '-c', '/dev/pipes/EOF']);
    expect(run.history?.created_by).toBe('RUN /bin/sh -c /dev/pipes/EOF # buildkit');
    expect(run.files).toEqual([{ path: '/dev/pipes/EOF', content: '#!/bin/awk -f\nBEGIN { print "x" }\n', mode: 0o755 }]);
  });

  it('uses SHELL for shell form and heredoc RUN, never ENTRYPOINT', () => {
    const p = plan('FROM busybox\nENTRYPOINT ["/bin/false"]\nSHELL ["/bin/bash", "-ec"]\nRUN <<EOF\nset -o pipefail\nEOF\n');
    expect(onlyRun(p).args).toEqual(['/bin/bash', '-ec', 'set -o pipefail\n']);
  });

  it('never expands variables in RUN', () => {
    expect(onlyRun(plan('FROM busybox\nARG A=x\nRUN echo $A ${A}\n')).args).toEqual(['/bin/sh', '-c', 'echo $A ${A}']);
  });

  it('runs in WORKDIR as USER with --network and --security', () => {
    const run = onlyRun(plan('FROM busybox\nWORKDIR /a\nWORKDIR b\nUSER 1000\nRUN --network=none --security=insecure true\n'));
    expect([run.cwd, run.user, run.network, run.security]).toEqual(['/a/b', '1000', 'none', 'insecure']);
  });
});

describe('WORKDIR', () => {
  it('chains relative paths and creates directories owned by the current USER', () => {
    const p = plan('FROM busybox\nWORKDIR /test1\nWORKDIR test2\nUSER user\nWORKDIR ../test3\nWORKDIR /\n');
    expect(fileSteps(p).map((s) => [s.action, s.dest, s.chown ?? ''])).toEqual([
      ['mkdir', '/test1', ''],
      ['mkdir', '/test1/test2', ''],
      ['mkdir', '/test1/test3', 'user'],
    ]);
    expect(stage(p).config.WorkingDir).toBe('/');
  });
});

describe('COPY and ADD destinations and options', () => {
  it.each([
    ['absolute file', '/sample', '/sample'],
    ['absolute directory', '/sample/', '/sample/'],
    ['relative to WORKDIR', 'bar/baz', '/app/bar/baz'],
    ['relative directory', './bar/', '/app/bar/'],
    ['dot is WORKDIR as a directory', '.', '/app/'],
    ['parent of WORKDIR', '../', '/'],
    ['empty destination is WORKDIR', '$empty', '/app/'],
  ])('%s: %s → %s', (_name, dest, expected) => {
    expect(fileSteps(plan(`FROM busybox\nWORKDIR /app\nCOPY foo ${dest}\n`))[1]?.dest).toBe(expected);
  });

  it('expands sources, destination, --chown, --chmod and --exclude', () => {
    const p = plan(
      'FROM busybox\nARG owner=1000 group=nogroup mode=0640 ext=tmp\nCOPY --chown=${owner}:${group} --chmod=${mode} --exclude=*.${ext} --parents src/$ext /dst/\n',
    );
    expect(fileSteps(p)[0]).toMatchObject({
      action: 'copy',
      sources: ['src/tmp'],
      dest: '/dst/',
      chown: '1000:nogroup',
      chmod: '0640',
      exclude: ['*.tmp'],
      parents: true,
      link: false,
    });
  });

  it('accepts symbolic --chmod', () => {
    expect(fileSteps(plan('FROM busybox\nCOPY --chmod=u+rw,g+r,o-x,o+w a /b\n'))[0]?.chmod).toBe('u+rw,g+r,o-x,o+w');
  });

  it('reads heredoc sources, expanding only unquoted ones later', () => {
    const p = plan("FROM busybox\nCOPY <<EOF <<'RAW' <<-TABS /dir/\n${X}\nEOF\n${X}\nRAW\n\tt\n\tTABS\n");
    expect(fileSteps(p)[0]?.inline).toEqual([
      { path: 'EOF', content: '${X}\n', expand: true },
      { path: 'RAW', content: '${X}\n', expand: false },
      { path: 'TABS', content: 't\n', expand: true },
    ]);
  });

  it('keeps ADD options', () => {
    const p = plan('FROM busybox\nADD --checksum=sha256:abc --keep-git-dir --unpack=false --link https://example.com/a.tgz /x/\n');
    expect(fileSteps(p)[0]).toMatchObject({ action: 'add', checksum: 'sha256:abc', keepGitDir: true, unpack: false, link: true });
  });
});

describe('RUN --mount', () => {
  const mounts = (flags: string, extra = ''): Mount[] =>
    onlyRun(plan(`FROM busybox AS src\nFROM busybox\nWORKDIR /w\n${extra}RUN ${flags} true\n`)).mounts;

  it.each<[string, string, Mount]>([
    [
      'bind defaults to the context root, read-only',
      '--mount=target=/context',
      { type: 'bind', target: '/context', source: '/', from: { kind: 'context' }, readonly: true },
    ],
    [
      'bind from a stage, rw, relative target',
      '--mount=type=bind,from=src,src=/etc,dst=etc,rw',
      { type: 'bind', target: '/w/etc', source: '/etc', from: { kind: 'stage', index: 0, name: 'src' }, readonly: false },
    ],
    [
      'cache id defaults to the target',
      '--mount=type=cache,target=/root/.cache',
      { type: 'cache', target: '/root/.cache', id: '/root/.cache', sharing: 'shared', source: '', readonly: false, mode: 0o755, uid: 0, gid: 0 },
    ],
    [
      'cache with id, sharing, owner and mode',
      '--mount=type=cache,id=go,target=/go,sharing=locked,uid=1001,gid=1002,mode=0751',
      { type: 'cache', target: '/go', id: 'go', sharing: 'locked', source: '', readonly: false, mode: 0o751, uid: 1001, gid: 1002 },
    ],
    ['tmpfs with a size', '--mount=type=tmpfs,target=/tmp,size=128m', { type: 'tmpfs', target: '/tmp', size: 134217728 }],
    [
      'secret in /run/secrets by default',
      '--mount=type=secret,id=token',
      { type: 'secret', id: 'token', target: '/run/secrets/token', required: false, mode: 0o400, uid: 0, gid: 0 },
    ],
    [
      'secret as env only',
      '--mount=type=secret,id=token,env=TOKEN,required',
      { type: 'secret', id: 'token', env: 'TOKEN', required: true, mode: 0o400, uid: 0, gid: 0 },
    ],
    [
      'secret with target and owner',
      '--mount=type=secret,id=s,target=/s,mode=741,uid=100,gid=102',
      { type: 'secret', id: 's', target: '/s', required: false, mode: 0o741, uid: 100, gid: 102 },
    ],
    [
      'ssh agent socket',
      '--mount=type=ssh',
      { type: 'ssh', id: 'default', target: '/run/buildkit/ssh_agent.0', required: false, mode: 0o600, uid: 0, gid: 0 },
    ],
  ])('%s', (_name, flags, expected) => {
    expect(mounts(flags)).toEqual([expected]);
  });

  it('expands variables in mount options', () => {
    expect(mounts('--mount=type=$T,target=$P,id=$I', 'ARG T=cache P=/c I=x\n')[0]).toMatchObject({ type: 'cache', target: '/c', id: 'x' });
  });

  it('numbers ssh sockets within one RUN', () => {
    expect(mounts('--mount=type=ssh --mount=type=ssh,id=other').map((m) => (m.type === 'ssh' ? m.target : ''))).toEqual([
      '/run/buildkit/ssh_agent.0',
      '/run/buildkit/ssh_agent.1',
    ]);
  });
});
