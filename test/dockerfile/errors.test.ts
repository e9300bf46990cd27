import { describe, expect, it } from 'vitest';
import { DockerfileError } from '../../src/dockerfile/errors.js';
import { plan } from '../helpers/plan.js';

/** [name, Dockerfile, expected message (with location prefix when located), options] */
type Case = [string, string, string, { target?: string; buildArgs?: Record<string, string> }?];

const cases: Case[] = [
  ['empty Dockerfile', '', 'Dockerfile: file with no instructions'],
  ['only comments', '# nothing\n\n# here\n', 'Dockerfile: file with no instructions'],
  ['only ARGs', 'ARG foo=bar\n', 'Dockerfile:1:1: dockerfile contains no stages to build'],
  ['unknown instruction', 'FROM busybox\nFNTRYPOINT ["x"]\n', 'Dockerfile:2:1: unknown instruction: FNTRYPOINT (did you mean ENTRYPOINT?)'],
  ['unknown lowercase instruction', 'FROM busybox\nfoo bar\n', 'Dockerfile:2:1: unknown instruction: foo'],
  [
    'instruction before FROM',
    'RUN true\nFROM busybox\n',
    'Dockerfile:1:1: no build stage in current context: RUN must come after a FROM instruction',
  ],
  [
    'nested JSON',
    'FROM busybox\nCMD [ "echo", [ "nested json" ] ]\n',
    'Dockerfile:2:5: when using JSON array syntax, arrays must be comprised of strings only',
  ],
  ['SHELL not JSON', 'FROM busybox\nSHELL /bin/bash -c\n', 'Dockerfile:2:7: SHELL requires the arguments to be in JSON form'],
  ['unterminated heredoc', 'FROM busybox\nRUN <<EOF\necho hi\n', 'Dockerfile:2:5: unterminated heredoc EOF'],
  [
    'stage name starting with a digit',
    'FROM busybox AS 1st\n',
    'Dockerfile:1:17: invalid name for build stage: "1st", name can\'t start with a number or contain symbols',
  ],
  [
    'stage name with a symbol',
    'FROM busybox AS a$b\n',
    'Dockerfile:1:17: invalid name for build stage: "a$b", name can\'t start with a number or contain symbols',
  ],
  ['FROM with two words', 'FROM busybox build\n', 'Dockerfile:1:1: FROM requires either one or three arguments'],
  [
    'COPY with one argument',
    'FROM busybox\nCOPY onlyone\n',
    'Dockerfile:2:1: COPY requires at least two arguments, but only one was provided. Destination could not be determined',
  ],
  [
    'ADD with one argument',
    'FROM busybox\nADD onlyone\n',
    'Dockerfile:2:1: ADD requires at least two arguments, but only one was provided. Destination could not be determined',
  ],
  [
    'COPY --from=$VAR',
    'FROM busybox\nARG SRC=build\nCOPY --from=$SRC /a /b\n',
    'Dockerfile:3:6: variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround',
  ],
  ['heredoc as COPY destination', 'FROM busybox\nCOPY a <<EOF\nx\nEOF\n', 'Dockerfile:2:8: COPY cannot accept a heredoc as a destination'],
  ['unknown RUN flag', 'FROM busybox\nRUN --mont=type=cache,target=/x true\n', 'Dockerfile:2:5: unknown flag: --mont (did you mean mount?)'],
  ['unknown MAINTAINER flag', 'FROM busybox\nMAINTAINER --boo x\n', 'Dockerfile:2:12: unknown flag: --boo'],
  ['duplicate flag', 'FROM busybox\nCOPY --from=a --from=b x y\n', 'Dockerfile:2:6: Duplicate flag specified: --from'],
  ['non-boolean --link', 'FROM busybox\nCOPY --link=maybe x y\n', 'Dockerfile:2:6: expecting boolean value for flag link, not: maybe'],
  ['WORKDIR without argument', 'FROM busybox\nWORKDIR\n', 'Dockerfile:2:1: WORKDIR requires exactly one argument'],
  ['USER without argument', 'FROM busybox\nUSER\n', 'Dockerfile:2:1: USER requires exactly one argument'],
  ['EXPOSE without argument', 'FROM busybox\nEXPOSE\n', 'Dockerfile:2:1: EXPOSE requires at least one argument'],
  ['ENV blank name', 'FROM busybox\nENV =v\n', 'Dockerfile:2:1: ENV names can not be blank'],
  ['ENV without value', 'FROM busybox\nENV PATH\n', 'Dockerfile:2:1: ENV must have two arguments'],
  ['ONBUILD ONBUILD', 'FROM busybox\nONBUILD ONBUILD RUN x\n', "Dockerfile:2:9: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"],
  ['ONBUILD FROM', 'FROM busybox\nONBUILD FROM alpine\n', "Dockerfile:2:9: FROM isn't allowed as an ONBUILD trigger"],
  ['ONBUILD MAINTAINER', 'FROM busybox\nONBUILD MAINTAINER me\n', "Dockerfile:2:9: MAINTAINER isn't allowed as an ONBUILD trigger"],
  [
    'misspelt mount key',
    'FROM busybox\nRUN --mount=typ=cache,target=/x true\n',
    "Dockerfile:2:13: unexpected key 'typ' in 'typ=cache' (did you mean type?)",
  ],
  [
    'unknown mount type',
    'FROM busybox\nRUN --mount=type=tmp,target=/x true\n',
    'Dockerfile:2:13: unsupported mount type "tmp" (did you mean tmpfs?)',
  ],
  [
    'mount from=$VAR',
    'FROM busybox\nARG S=x\nRUN --mount=from=$S,target=/x true\n',
    "Dockerfile:3:18: 'from' doesn't support variable expansion, define alias stage instead",
  ],
  ['invalid escape directive', '# escape=x\nFROM busybox\n', "Dockerfile:1:1: invalid escape token 'x' does not match ` or \\"],
  ['repeated directive', '# escape=`\n# escape=\\\nFROM busybox\n', 'Dockerfile:2:1: only one escape parser directive can be used'],
  [
    'healthcheck interval too short',
    'FROM busybox\nHEALTHCHECK --interval=1us CMD true\n',
    'Dockerfile:2:13: Interval "interval" cannot be less than 1ms',
  ],
  ['healthcheck unknown type', 'FROM busybox\nHEALTHCHECK PING x\n', 'Dockerfile:2:13: Unknown type "PING" in HEALTHCHECK (try CMD)'],
  ['healthcheck negative retries', 'FROM busybox\nHEALTHCHECK --retries=-1 CMD true\n', 'Dockerfile:2:13: --retries cannot be negative (-1)'],
  ['copy from itself', 'FROM busybox AS s0\nCOPY --from=s0 /a /b\n', 'Dockerfile:2:13: circular dependency detected on stage: s0'],
  [
    'copy from a later stage',
    'FROM busybox AS first\nCOPY --from=later /a /b\nFROM busybox AS later\n',
    'Dockerfile:2:13: cannot copy from stage "later", it needs to be defined before current stage "first"',
  ],
  ['unknown target', 'FROM busybox AS build\nFROM scratch\n', 'target stage "bulid" could not be found (did you mean build?)', { target: 'bulid' }],
  ['blank base name', 'ARG IMAGE\nFROM ${IMAGE}\n', 'Dockerfile:2:6: base name (${IMAGE}) should not be blank'],
  ['required stage ARG', 'FROM busybox\nARG BAR=${FOO:?"foo missing"}\n', 'Dockerfile:2:9: FOO: foo missing'],
  ['required global ARG', 'ARG FOO=${FOO:?"custom error"}\nFROM busybox\n', 'Dockerfile:1:9: FOO: custom error'],
  [
    'bad chmod',
    'FROM busybox\nCOPY --chmod=64a a /b\n',
    "Dockerfile:2:14: invalid chmod parameter: '64a'. it should be octal string and between 0 and 07777",
  ],
  [
    'chmod out of range',
    'FROM busybox\nCOPY --chmod=10000 a /b\n',
    "Dockerfile:2:14: invalid chmod parameter: '10000'. it should be octal string and between 0 and 07777",
  ],
  ['bad STOPSIGNAL', 'FROM busybox\nSTOPSIGNAL SIGNOPE\n', 'Dockerfile:2:12: Invalid signal: SIGNOPE'],
  ['bad EXPOSE port', 'FROM busybox\nEXPOSE http\n', 'Dockerfile:2:1: invalid containerPort: http'],
  ['bad substitution', 'FROM busybox\nENV A=${}\n', 'Dockerfile:2:7: syntax error: bad substitution'],
  ['unsupported network', 'FROM busybox\nRUN --network=bridge true\n', 'Dockerfile:2:5: unsupported network mode "bridge"'],
];

describe('Dockerfile errors name the file, line and column with BuildKit’s message', () => {
  it.each(cases)('%s', (_name, text, expected, options) => {
    let caught: unknown;
    try {
      plan(text, options ?? {});
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DockerfileError);
    expect((caught as DockerfileError).message).toBe(expected);
  });

  it('shows the offending line with a caret under the text', () => {
    let caught: DockerfileError | undefined;
    try {
      plan('FROM busybox\n  RUN --mont=type=cache,target=/x true\n');
    } catch (err) {
      caught = err as DockerfileError;
    }
    expect(caught?.describe()).toBe(
      ['Dockerfile:2:7: unknown flag: --mont (did you mean mount?)', ' 2 |   RUN --mont=type=cache,target=/x true', '   |       ^^^^^^'].join('\n'),
    );
  });

  it('adds the hint on its own line before the excerpt', () => {
    let caught: DockerfileError | undefined;
    try {
      plan('FROM busybox AS build\n', { target: 'bulid' });
    } catch (err) {
      caught = err as DockerfileError;
    }
    expect(caught?.describe()).toBe('target stage "bulid" could not be found (did you mean build?)\nstages in Dockerfile: build');
  });
});
