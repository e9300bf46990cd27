/**
 * A generated Dockerfile whose RUN steps turn paths from one kind into another across layers (issue
 * 23): a file, a directory with a child, an empty directory, a symlink to a file or to a directory,
 * or nothing, in every order — file→dir, dir→file, symlink→dir, dir→symlink and the rest —, plus
 * changes below a replaced directory. Seeded, so a difference between builders reproduces.
 */
import { prng } from './prng.js';

const KINDS = ['file', 'dir', 'empty-dir', 'link-file', 'link-dir', 'absent'] as const;
type Kind = (typeof KINDS)[number];

/** The shell that makes `path` a `kind` (after removing whatever it was), with busybox applets. */
function make(path: string, kind: Kind, n: number): string {
  const rm = `busybox rm -rf ${path}`;
  switch (kind) {
    case 'file':
      return `${rm} && echo v${n} > ${path}`;
    case 'dir':
      return `${rm} && busybox mkdir -p ${path}/sub && echo c${n} > ${path}/child && echo s${n} > ${path}/sub/deep`;
    case 'empty-dir':
      return `${rm} && busybox mkdir ${path}`;
    case 'link-file':
      return `${rm} && busybox ln -s /t/target-file ${path}`;
    case 'link-dir':
      return `${rm} && busybox ln -s ../t/target-dir ${path}`;
    case 'absent':
      return rm;
  }
}

/** The Dockerfile: a base layer making every path, then `layers` RUN steps of transitions. */
export function layerTransitionsDockerfile(seed = 23, paths = 10, layers = 4): string {
  const random = prng(seed);
  const pick = (): Kind => KINDS[Math.floor(random() * KINDS.length)] as Kind;
  const lines = ['ARG BASE', 'FROM ${BASE}', 'RUN busybox mkdir -p /t/target-dir && echo target > /t/target-file && echo inside > /t/target-dir/f'];
  const kinds = Array.from({ length: paths }, pick);
  lines.push(`RUN ${kinds.map((kind, i) => make(`/t/p${i}`, kind, 0)).join(' && ')}`);
  for (let layer = 1; layer <= layers; layer++) {
    const steps: string[] = [];
    for (let i = 0; i < paths; i++) {
      const next = pick();
      const current = kinds[i] as Kind;
      // A directory that stays a directory changes below it: a child replaced by a directory.
      if (next === current && current === 'dir')
        steps.push(`busybox rm ${`/t/p${i}`}/child && busybox mkdir ${`/t/p${i}`}/child && echo x > /t/p${i}/child/x`);
      else steps.push(make(`/t/p${i}`, next, layer));
      kinds[i] = next;
    }
    lines.push(`RUN ${steps.join(' && ')}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Every pair of kinds, once: path `p<i>` is made the `i / 6`-th kind in one RUN layer and turned
 * into the `i % 6`-th in the next (36 paths), so each transition — dir→file and empty-dir→file
 * included, which one seed may never draw — is built and compared.
 */
export function allTransitionsDockerfile(): string {
  const pairs = KINDS.flatMap((from) => KINDS.map((to) => [from, to] as const));
  return [
    'ARG BASE',
    'FROM ${BASE}',
    'RUN busybox mkdir -p /t/target-dir && echo target > /t/target-file && echo inside > /t/target-dir/f',
    `RUN ${pairs.map(([from], i) => make(`/t/p${i}`, from, 0)).join(' && ')}`,
    `RUN ${pairs.map(([, to], i) => make(`/t/p${i}`, to, 1)).join(' && ')}`,
    '',
  ].join('\n');
}
