/**
 * BuildKit's parse-tree dump: `(keyword ["--flag"] "arg" …)`, one line per instruction. This is the
 * format of the parser conformance vectors; `tsbuild` also uses it for `--print-ast` style debugging.
 */
import type { Node } from './node.js';

const NAMED_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\u0007': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
};

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** Go's `strconv.Quote`: a double-quoted string with Go's escapes. */
export function goQuote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const named = NAMED_ESCAPES[ch];
    const code = ch.codePointAt(0) ?? 0;
    if (named !== undefined) out += named;
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (ch === ' ' || PRINTABLE.test(ch)) out += ch;
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

/** One node as BuildKit's `Node.Dump()` renders it, without the surrounding parentheses. */
function dumpBody(node: Node): string {
  let out = node.keyword;
  if (node.flags.length > 0) out += ` [${node.flags.map(goQuote).join(' ')}]`;
  if (node.trigger) out += ` (${dumpBody(node.trigger)})`;
  for (const arg of node.args) out += ` ${goQuote(arg)}`;
  return out;
}

/** The dump of a whole parse: one `(…)` line per node, each ending in a newline. */
export function dumpNodes(nodes: readonly Node[]): string {
  return nodes.map((node) => `(${dumpBody(node)})\n`).join('');
}
