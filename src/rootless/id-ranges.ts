/**
 * The subordinate id ranges a user may map into a user namespace: `/etc/subuid` and `/etc/subgid`
 * (shadow-utils' format, `NAME_OR_UID:START:COUNT` per line), which `newuidmap`/`newgidmap` check
 * again as the setuid helpers they are. tsbuild maps the user's own id to 0 and the first range
 * of the user above it (1..COUNT), as rootlesskit and podman do, so the ids an image uses (0, 1000,
 * 65534) are real, distinct owners on disk.
 */
import { FailedPreconditionError } from '../errors.js';

/** One range: ids START..START+COUNT-1 of the host. */
export interface IdRange {
  start: number;
  count: number;
}

/** Who the ranges are for: the user's name and numeric id (a line may name either). */
export interface IdOwner {
  name: string;
  id: number;
}

/**
 * The first range `text` (the content of `file`) gives `owner`. A missing or malformed entry is an
 * error naming the file and the line to add.
 */
export function findIdRange(text: string | undefined, file: string, owner: IdOwner, kind: 'uid' | 'gid'): IdRange {
  for (const raw of (text ?? '').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [who, start, count] = line.split(':');
    if (who !== owner.name && who !== String(owner.id)) continue;
    const range = { start: Number(start), count: Number(count) };
    if (Number.isSafeInteger(range.start) && range.start > 0 && Number.isSafeInteger(range.count) && range.count > 0) return range;
  }
  const suggestion = `${owner.name}:100000:65536`;
  const tool = kind === 'uid' ? '--add-subuids' : '--add-subgids';
  return throwMissing(file, owner, kind, suggestion, tool);
}

function throwMissing(file: string, owner: IdOwner, kind: 'uid' | 'gid', line: string, tool: string): never {
  throw new FailedPreconditionError(
    `no subordinate ${kind} range for user ${owner.name} in ${file}: rootless builds map the image's ${kind}s onto one`,
    {
      hint: `add a line such as "${line}" to ${file} (a range no other line uses; usermod ${tool} 100000-165535 ${owner.name})`,
    },
  );
}
