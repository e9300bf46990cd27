/**
 * Resolving `USER` against the container's own /etc/passwd and /etc/group, as runc/docker do:
 * `name`, `uid`, `name:group`, `uid:gid`. Supplementary groups come from /etc/group (the primary
 * group always among them); a numeric uid missing from passwd runs with gid 0; an unknown name is
 * an error.
 */
import { InvalidArgumentError } from '../errors.js';
import { parseGroup, parsePasswd } from '../util/passwd.js';
import type { ProcessUser } from './oci-spec.js';

/** Resolves `user` (empty = root) with the rootfs' passwd and group files (empty when missing). */
export function resolveUser(user: string, passwdText: string, groupText: string): ProcessUser {
  const passwd = parsePasswd(passwdText);
  const groups = parseGroup(groupText);
  const [userPart = '', groupPart] = (user || 'root').split(':');
  let uid: number;
  let gid: number;
  let name: string | undefined;
  const byName = passwd.find((p) => p.name === userPart);
  if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    const entry = passwd.find((p) => p.uid === uid);
    gid = entry?.gid ?? 0;
    name = entry?.name;
  } else if (byName) {
    ({ uid, gid, name } = byName);
  } else if (userPart === 'root') {
    [uid, gid, name] = [0, 0, 'root'];
  } else {
    throw new InvalidArgumentError(`unable to find user ${userPart}: no matching entries in passwd file`);
  }
  if (groupPart !== undefined) {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const group = groups.find((g) => g.name === groupPart);
      if (!group) throw new InvalidArgumentError(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = group.gid;
    }
  }
  const supplementary = groupPart === undefined && name !== undefined ? groups.filter((g) => g.members.includes(name)).map((g) => g.gid) : [];
  return { uid, gid, additionalGids: [...new Set([gid, ...supplementary])] };
}
