/**
 * `key=value,key=value` specs (`--output`, `--cache-to`, `--secret`), read the way buildx reads
 * them: as one CSV record, so a value holding a comma is written in double quotes
 * (`"name=a:1,b:2",push=true`). A field without `=` is a key with the value `true`, and empty
 * fields are skipped, unless `strict` (buildx's rule for `--output`): then either is an error.
 */
import { InvalidArgumentError } from '../errors.js';

/** The fields of `spec` in order; `what` names the flag in errors. */
export function parseFieldList(spec: string, what: string, strict = false): Array<[string, string]> {
  const fields: Array<[string, string]> = [];
  for (const field of csvRecord(spec, what)) {
    const eq = field.indexOf('=');
    if (strict && eq < 0) throw new InvalidArgumentError(`invalid ${what} "${spec}": invalid value "${field}" (expected KEY=VALUE)`);
    if (field === '') continue;
    const key = (eq < 0 ? field : field.slice(0, eq)).trim();
    if (key === '') throw new InvalidArgumentError(`invalid ${what} "${spec}": a field has no name`);
    fields.push([key, eq < 0 ? 'true' : field.slice(eq + 1)]);
  }
  return fields;
}

/** Like `parseFieldList`, as a record (a repeated key keeps its last value). */
export function parseFields(spec: string, what: string): Record<string, string> {
  return Object.fromEntries(parseFieldList(spec, what));
}

/** One CSV record: fields split on commas, `"…"` quoting with `""` for a quote. */
export function csvRecord(text: string, what: string): string[] {
  const fields: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        current += '"';
        i++;
      } else if (c === '"') quoted = false;
      else current += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(current);
      current = '';
    } else current += c;
  }
  if (quoted) throw new InvalidArgumentError(`invalid ${what} "${text}": unterminated quote`);
  fields.push(current);
  return fields;
}
