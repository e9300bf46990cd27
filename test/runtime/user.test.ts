import { describe, expect, it } from 'vitest';
import { resolveUser } from '../../src/runtime/user.js';

const passwd = 'root:x:0:0:root:/root:/bin/sh\ndockerio:x:1001:1001::/home/dockerio:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n';
const group = 'root:x:0:\nwheel:x:10:root\ndockerio:x:1001:\nsupplementary:x:1002:dockerio\nextra:x:1003:dockerio,nobody\n';

describe('resolveUser (BuildKit testUser cases)', () => {
  it.each([
    ['', { uid: 0, gid: 0, additionalGids: [0, 10] }],
    ['root', { uid: 0, gid: 0, additionalGids: [0, 10] }],
    ['dockerio', { uid: 1001, gid: 1001, additionalGids: [1001, 1002, 1003] }],
    ['1001', { uid: 1001, gid: 1001, additionalGids: [1001, 1002, 1003] }],
    ['1001:supplementary', { uid: 1001, gid: 1002, additionalGids: [1002] }],
    ['1042:1043', { uid: 1042, gid: 1043, additionalGids: [1043] }],
    ['1234', { uid: 1234, gid: 0, additionalGids: [0] }],
    ['nobody', { uid: 65534, gid: 65534, additionalGids: [65534, 1003] }],
  ])('%j', (user, expected) => {
    expect(resolveUser(user, passwd, group)).toEqual(expected);
  });

  it.each([
    ['ghost', 'unable to find user ghost: no matching entries in passwd file'],
    ['dockerio:nogroup', 'unable to find group nogroup: no matching entries in group file'],
  ])('rejects %s', (user, message) => {
    expect(() => resolveUser(user, passwd, group)).toThrow(message);
  });
});
