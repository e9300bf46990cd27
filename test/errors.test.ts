/**
 * One error vocabulary: each cause maps to the category a caller can act on, through a subclass,
 * and the CLI prints every category but `internal` as one line.
 */
import { describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  CancelledError,
  FailedPreconditionError,
  IntegrityError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  TsbuildError,
  UnavailableError,
  UnsupportedError,
  hasCode,
  isCancelled,
  type ErrorCode,
} from '../src/errors.js';
import { registryError } from '../src/registry/registry-error.js';
import { ExecError } from '../src/runtime/exec-error.js';
import { missingTool } from '../src/util/tool-runner.js';
import { DigestMismatchError } from '../src/digest/hashing.js';

describe('error categories', () => {
  it.each([
    [new InvalidArgumentError('x'), 'invalid-argument', 'InvalidArgumentError'],
    [new NotFoundError('x'), 'not-found', 'NotFoundError'],
    [new AlreadyExistsError('x'), 'already-exists', 'AlreadyExistsError'],
    [new PermissionDeniedError('x'), 'permission-denied', 'PermissionDeniedError'],
    [new FailedPreconditionError('x'), 'failed-precondition', 'FailedPreconditionError'],
    [new IntegrityError('x'), 'digest-mismatch', 'IntegrityError'],
    [new DigestMismatchError('sha256:a', 'sha256:b', 'blob'), 'digest-mismatch', 'DigestMismatchError'],
    [new UnavailableError('x'), 'unavailable', 'UnavailableError'],
    [new CancelledError(), 'cancelled', 'CancelledError'],
    [new UnsupportedError('x'), 'unsupported', 'UnsupportedError'],
    [new InternalError('x'), 'internal', 'InternalError'],
  ] as Array<[TsbuildError, ErrorCode, string]>)('%s has code %s and name %s', (err, code, name) => {
    expect(err).toBeInstanceOf(TsbuildError);
    expect([err.code, err.name, hasCode(err, code)]).toEqual([code, name, true]);
  });

  it.each([
    [
      'a RUN that exits 3',
      new ExecError(['/bin/sh', '-c', 'exit 3'], 3, undefined, ''),
      'command-failed',
      'process "/bin/sh -c exit 3" did not complete successfully: exit code: 3',
    ],
    [
      'a RUN killed',
      new ExecError(['sleep', '9'], 137, 'SIGKILL', ''),
      'command-failed',
      'process "sleep 9" did not complete successfully: killed by SIGKILL',
    ],
    ['a missing host tool', missingTool('getfattr'), 'failed-precondition', 'getfattr is not installed (not found on PATH)'],
    [
      'a registry 401',
      registryError(
        { status: 401 },
        '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
        { method: 'GET', url: 'http://r/v2/a/manifests/1' },
        'r/a:1',
      ),
      'permission-denied',
      'unauthorized: authentication required for r/a:1 (GET http://r/v2/a/manifests/1 → 401)',
    ],
    [
      'a registry 403 without a body',
      registryError({ status: 403 }, '', { method: 'HEAD', url: 'http://r/v2/a/blobs/x' }, 'r/a'),
      'permission-denied',
      'denied: requested access to the resource is denied for r/a (HEAD http://r/v2/a/blobs/x → 403)',
    ],
    [
      'a registry 400',
      registryError({ status: 400 }, '{"errors":[{"code":"MANIFEST_INVALID"}]}', { method: 'PUT', url: 'http://r/v2/a/manifests/1' }, 'r/a:1'),
      'invalid-argument',
      'manifest invalid for r/a:1 (PUT http://r/v2/a/manifests/1 → 400)',
    ],
    [
      'a registry 404',
      registryError({ status: 404 }, '', { method: 'GET', url: 'http://r/v2/a/manifests/1' }, 'r/a:1'),
      'not-found',
      'not found: r/a:1 not found (GET http://r/v2/a/manifests/1 → 404)',
    ],
    [
      'a registry 503',
      registryError({ status: 503 }, '', { method: 'GET', url: 'http://r/v2/' }, 'r'),
      'unavailable',
      'service unavailable for r (GET http://r/v2/ → 503)',
    ],
  ] as Array<[string, TsbuildError, ErrorCode, string]>)('%s: %s', (_what, err, code, message) => {
    expect([err.code, err.message]).toEqual([code, message]);
  });

  it.each([
    [missingTool('getfattr'), 'getfattr is not installed (not found on PATH)', 'install it: apt-get install attr'],
    [missingTool('frobnicate'), 'frobnicate is not installed (not found on PATH)', 'install frobnicate'],
    [
      missingTool('unshare', { purpose: 'rootless builds make their user namespace with it' }),
      'unshare is not installed (not found on PATH): rootless builds make their user namespace with it',
      'install it: apt-get install util-linux',
    ],
    [
      missingTool('/opt/bin/docker', {
        purpose: '--load streams the image into docker load',
        alternative: 'write the archive with -o type=docker,dest=FILE',
      }),
      '/opt/bin/docker is not installed (no such executable): --load streams the image into docker load',
      'install it: apt-get install docker.io; or write the archive with -o type=docker,dest=FILE',
    ],
  ])('a missing tool: %s', (err, message, hint) => {
    expect([err.code, err.message, err.hint]).toEqual(['failed-precondition', message, hint]);
  });

  it('an interrupted CLI command is cancelled, not unavailable', () => {
    expect(isCancelled(new CancelledError('interrupted'))).toBe(true);
    expect(isCancelled(new UnavailableError('interrupted'))).toBe(false);
  });
});
