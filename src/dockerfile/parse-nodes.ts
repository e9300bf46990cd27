/**
 * The line parser: Dockerfile text → `Node[]`, following BuildKit's `parser.Parse` rule for rule
 * (see `shared/conformance/buildkit-parser/README.md`).
 *
 * Why not `dockerfile-ast` for this part: it is a language-server AST and treats an escaped escape
 * character at the end of a line (`trailing\\backslash\\`) as a continuation, which BuildKit does not
 * (vector `trailing-backslash`). Directives, where it agrees with BuildKit, come from it
 * (`directives.ts`); line assembly is ours so that all 33 conformance vectors hold.
 */
import { readDirectives, type Directives } from './directives.js';
import { DockerfileError, locate, type SourceRange } from './errors.js';
import { heredocsInLine } from './heredoc.js';
import { argumentNodes, extractFlags, splitKeyword, type Fail, type Node } from './node.js';

/** A non-fatal finding, reported to the user but never failing the parse. */
export interface ParseWarning {
  message: string;
  /** The instruction's first line. */
  line: number;
  /** The last line of its continuation, where BuildKit places the NoEmptyContinuation check. */
  endLine: number;
}

/** The line parser's result. */
export interface NodeDocument {
  file: string;
  nodes: Node[];
  directives: Directives;
  /** The physical lines (trailing `\r` removed), for error excerpts. */
  lines: string[];
  warnings: ParseWarning[];
}

const MAX_LINE_BYTES = 65535;
const HEREDOC_KEYWORDS = new Set(['run', 'copy', 'add']);

/** Parses Dockerfile text into nodes. `file` names the Dockerfile in error messages. */
export function parseNodes(text: string, file = 'Dockerfile'): NodeDocument {
  const raw = (text.startsWith('\ufeff') ? text.slice(1) : text).split('\n');
  if (raw.length > 0 && raw[raw.length - 1] === '') raw.pop();
  const lines = raw.map((line) => line.replace(/[\r\n]+$/, ''));
  lines.forEach((line, i) => {
    if (Buffer.byteLength(line) > MAX_LINE_BYTES) {
      throw new DockerfileError('dockerfile line greater than max allowed size of 65535', locate(file, lines, lineRange(i + 1)));
    }
  });
  const { directives, lines: directiveLines } = readDirectives(text, file, lines);
  const scanner = new LineScanner(file, raw, lines, directives.escape, directiveLines);
  const nodes = scanner.scan();
  if (nodes.length === 0) {
    throw new DockerfileError(`${file}: file with no instructions`, undefined, {
      hint: `${file} is empty or holds only comments: add a FROM instruction`,
    });
  }
  return { file, nodes, directives, lines, warnings: scanner.warnings };
}

function lineRange(start: number, end = start): SourceRange {
  return { start: { line: start, column: 1 }, end: { line: end, column: 1 } };
}

const isComment = (line: string): boolean => line.trimStart().startsWith('#');
const isBlank = (line: string): boolean => line.trim() === '';

class LineScanner {
  readonly warnings: ParseWarning[] = [];
  private index = 0;
  private readonly continuation: RegExp;

  constructor(
    private readonly file: string,
    private readonly raw: string[],
    private readonly lines: string[],
    private readonly escape: string,
    /** Line numbers of the parser directives: comments, but never part of a description. */
    private readonly directiveLines: ReadonlySet<number>,
  ) {
    const e = escape === '\\' ? '\\\\' : escape;
    // "x\" or a lone "\", then only spaces/tabs: the escape character joins the next line.
    this.continuation = new RegExp(`(^|[^${e}])${e}[ \\t]*$`);
  }

  scan(): Node[] {
    const nodes: Node[] = [];
    let comments: string[] = [];
    while (this.index < this.lines.length) {
      const first = this.index;
      const line = this.lines[this.index++] ?? '';
      if (isComment(line)) {
        // As BuildKit: the text after the line's first character, so an indented `  # x` keeps its `#`.
        const text = line.slice(1).trim();
        if (!this.directiveLines.has(first + 1)) comments = text === '' ? [] : [...comments, text];
        continue;
      }
      if (isBlank(line)) continue;
      const logical = this.assemble(line.trimStart(), first);
      if (logical.trim() === '') continue;
      const range = lineRange(first + 1, this.index);
      const node = this.buildNode(logical, range, comments);
      comments = [];
      this.readHeredocs(node, range);
      node.range = { start: range.start, end: { line: this.index, column: 1 } };
      nodes.push(node);
    }
    return nodes;
  }

  /** Joins continuation lines, skipping comments and (with a warning) blank lines between them. */
  private assemble(start: string, first: number): string {
    let [text, more] = this.stripContinuation(start);
    let blank = false;
    while (more && this.index < this.lines.length) {
      const line = this.lines[this.index++] ?? '';
      if (isComment(line)) continue;
      if (isBlank(line)) {
        blank = true;
        continue;
      }
      const [part, again] = this.stripContinuation(line);
      text += part;
      more = again;
    }
    if (blank) {
      this.warnings.push({
        message: 'empty continuation line found: the next release of the syntax may reject it',
        line: first + 1,
        endLine: this.index,
      });
    }
    return text;
  }

  private stripContinuation(line: string): [string, boolean] {
    const match = this.continuation.exec(line);
    if (!match) return [line, false];
    return [line.slice(0, match.index) + (match[1] ?? ''), true];
  }

  private fail(range: SourceRange): Fail {
    return (message, needle) => {
      throw new DockerfileError(message, locate(this.file, this.lines, range, needle));
    };
  }

  private buildNode(logical: string, range: SourceRange, comments: string[]): Node {
    const { keyword: keywordText, rest: afterKeyword } = splitKeyword(logical);
    const keyword = keywordText.toLowerCase();
    const { flags, rest } = extractFlags(afterKeyword, this.escape);
    const node: Node = { keyword, keywordText, flags, args: [], json: false, heredocs: [], original: logical.trim(), range, comments };
    if (keyword === 'onbuild') {
      if (rest.trim() !== '') node.trigger = this.buildNode(rest, range, []);
      return node;
    }
    const { args, json } = argumentNodes(keyword, rest, this.escape, this.fail(range));
    node.args = args;
    node.json = json;
    return node;
  }

  /** Finds `<<WORD` tokens of RUN/COPY/ADD (also as ONBUILD triggers) and reads their bodies. */
  private readHeredocs(node: Node, range: SourceRange): void {
    const target = node.trigger ?? node;
    if (!HEREDOC_KEYWORDS.has(target.keyword) || target.json) return;
    const { rest } = extractFlags(splitKeyword(target.original).rest, this.escape);
    const heredocs = heredocsInLine(rest);
    for (const heredoc of heredocs) {
      let terminated = false;
      while (this.index < this.raw.length) {
        const rawLine = this.raw[this.index++] ?? '';
        let candidate = rawLine.replace(/[\r\n]+$/, '');
        if (heredoc.chomp) candidate = candidate.replace(/^\t+/, '');
        if (candidate === heredoc.name) {
          terminated = true;
          break;
        }
        heredoc.content += `${rawLine}\n`;
      }
      if (!terminated) {
        throw new DockerfileError(`unterminated heredoc ${heredoc.name}`, locate(this.file, this.lines, range, `<<`), {
          hint: `add a line containing only ${heredoc.name} to end the here-document`,
        });
      }
    }
    target.heredocs = heredocs;
  }
}
