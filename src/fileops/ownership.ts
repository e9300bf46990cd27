/**
 * COPY/ADD `--chmod` and `--chown`.
 *
 * `--chmod`: octal `0`–`07777`, applied to every copied entry; or chmod(1) symbolic clauses
 * (`go-w`, `u=rw,g=r,o=r`, `a+X`, `+x`, `g=u`) applied to each entry's own mode (`X`: execute for
 * directories and already-executable files).
 * `--chown`: `user`, `user:group`, `uid`, `uid:gid`; names are looked up in the *destination*
 * stage's /etc/passwd and /etc/group; a user alone gives its primary group (a numeric uid: gid =
 * uid). An unknown name fails (BuildKit silently uses 0; failing is safer).
 */
import { InvalidArgumentError } from '../errors.js';
import { parseGroup, parsePasswd } from '../util/passwd.js';

/** A parsed `--chmod`. */
export type ModeChange = { kind: 'numeric'; mode: number } | { kind: 'symbolic'; text: string; apply(mode: number, isDir: boolean): number };

const CLAUSE = /^([ugoa]*)((?:[-+=](?:[ugo]|[rwxXst]*))+)$/;

/** Parses a `--chmod` value. */
export function parseChmod(text: string): ModeChange {
  if (/^[0-7]+$/.test(text) && parseInt(text, 8) <= 0o7777) return { kind: 'numeric', mode: parseInt(text, 8) };
  const clauses = text.split(',');
  if (/^\d/.test(text) || !clauses.every((c) => CLAUSE.test(c))) {
    throw new InvalidArgumentError(`invalid chmod parameter: '${text}'. it should be octal string and between 0 and 07777`);
  }
  return { kind: 'symbolic', text, apply: (mode, isDir) => clauses.reduce((m, c) => applyClause(m, c, isDir), mode & 0o7777) };
}

const SHIFT: Record<string, number> = { u: 6, g: 3, o: 0 };

function applyClause(mode: number, clause: string, isDir: boolean): number {
  const [, whoText = '', ops = ''] = CLAUSE.exec(clause) ?? [];
  const who = whoText === '' || whoText.includes('a') ? ['u', 'g', 'o'] : [...new Set(whoText)];
  let result = mode;
  for (const [, op = '', perms = ''] of ops.matchAll(/([-+=])([ugo]|[rwxXst]*)/g)) {
    let bits = 0;
    if (/^[ugo]$/.test(perms)) {
      const copied = (result >> (SHIFT[perms] ?? 0)) & 7;
      for (const w of who) bits |= copied << (SHIFT[w] ?? 0);
    } else {
      for (const w of who) {
        const shift = SHIFT[w] ?? 0;
        if (perms.includes('r')) bits |= 4 << shift;
        if (perms.includes('w')) bits |= 2 << shift;
        // X: execute for directories, and for files some class can already execute (as modified so far).
        if (perms.includes('x') || (perms.includes('X') && (isDir || (result & 0o111) !== 0))) bits |= 1 << shift;
        if (perms.includes('s') && w === 'u') bits |= 0o4000;
        if (perms.includes('s') && w === 'g') bits |= 0o2000;
      }
      if (perms.includes('t')) bits |= 0o1000;
    }
    if (op === '+') result |= bits;
    else if (op === '-') result &= ~bits;
    else {
      let clear = 0;
      for (const w of who) clear |= 7 << (SHIFT[w] ?? 0);
      if (who.includes('u')) clear |= 0o4000;
      if (who.includes('g')) clear |= 0o2000;
      result = (result & ~clear) | bits;
    }
  }
  return result;
}

/** The mode a copied entry gets. */
export function modeFor(change: ModeChange | undefined, sourceMode: number, isDir: boolean): number {
  if (!change) return sourceMode & 0o7777;
  return change.kind === 'numeric' ? change.mode : change.apply(sourceMode, isDir);
}

/** Resolves a `--chown` value against the destination's passwd and group files. */
export function resolveChown(spec: string, passwdText: string, groupText: string): { uid: number; gid: number } {
  const passwd = parsePasswd(passwdText);
  const groups = parseGroup(groupText);
  const [userPart = '', groupPart] = spec.split(':');
  let uid: number;
  let gid: number;
  if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    gid = uid;
  } else {
    const entry = userPart === 'root' ? { uid: 0, gid: 0 } : passwd.find((p) => p.name === userPart);
    if (!entry) throw new InvalidArgumentError(`--chown: unable to find user ${userPart}: no matching entries in passwd file`);
    ({ uid, gid } = entry);
  }
  if (groupPart !== undefined && groupPart !== '') {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const group = groupPart === 'root' ? { gid: 0 } : groups.find((g) => g.name === groupPart);
      if (!group) throw new InvalidArgumentError(`--chown: unable to find group ${groupPart}: no matching entries in group file`);
      gid = group.gid;
    }
  }
  return { uid, gid };
}
