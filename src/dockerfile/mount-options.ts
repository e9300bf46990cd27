/**
 * `RUN --mount=…` option lists: CSV fields of `key=value` (or a bare key for booleans), as BuildKit
 * reads them. Keys are checked here; values are checked after variable expansion by the planner
 * (`plan/mounts.ts`), because `type=$MNT_TYPE` is legal.
 */
import type { RawMount } from './instructions.js';
import type { Fail } from './node.js';
import { didYouMean } from './suggest.js';

/** Every key BuildKit accepts in a mount option list (aliases included). */
export const MOUNT_KEYS = [
  'type',
  'from',
  'source',
  'src',
  'target',
  'dst',
  'destination',
  'readonly',
  'ro',
  'readwrite',
  'rw',
  'id',
  'sharing',
  'required',
  'mode',
  'uid',
  'gid',
  'size',
  'env',
] as const;

const KNOWN = new Set<string>(MOUNT_KEYS);

/** Splits one CSV record: commas separate fields, double quotes group text (`""` is a quote). */
export function splitCsv(text: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch === '"' && field === '') {
      quoted = true;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
    } else {
      field += ch;
    }
  }
  fields.push(field);
  return fields;
}

/** Parses the value of one `--mount` flag into checked keys and unexpanded values. */
export function parseMountOptions(text: string, fail: Fail): RawMount {
  const options: RawMount['options'] = [];
  for (const field of splitCsv(text)) {
    if (field.trim() === '') continue;
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    if (!KNOWN.has(key)) fail(`unexpected key '${key}' in '${field}'${didYouMean(key, MOUNT_KEYS)}`, field);
    options.push({ key, value: eq < 0 ? undefined : field.slice(eq + 1) });
  }
  return { text, options };
}
