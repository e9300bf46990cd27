/**
 * Node → typed instruction, with BuildKit's checks and messages (`instructions/parse.go`): arity,
 * the flags each instruction accepts, JSON-only SHELL, heredocs as COPY/ADD sources, ONBUILD
 * restrictions, stage-name rules, HEALTHCHECK options. Pure; errors carry the instruction's location.
 */
import { parseGoDuration } from './duration.js';
import { parseHeredocWord } from './heredoc.js';
import { parseFlags, type FlagSpec, type FlagValues } from './flags.js';
import {
  INSTRUCTION_KEYWORDS,
  type AddInstruction,
  type CommandLine,
  type CopyInstruction,
  type FileInstructionBase,
  type HealthcheckInstruction,
  type InlineSource,
  type Instruction,
  type InstructionBase,
  type KeyValue,
} from './instructions.js';
import { parseMountOptions } from './mount-options.js';
import type { Fail, Node } from './node.js';
import { didYouMean } from './suggest.js';

/** The flags each instruction accepts; instructions not listed take none. */
const FLAGS: Record<string, FlagSpec> = {
  from: { platform: 'string' },
  run: { mount: 'list', network: 'string', security: 'string' },
  copy: { from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'list' },
  add: {
    chown: 'string',
    chmod: 'string',
    link: 'bool',
    parents: 'bool',
    exclude: 'list',
    checksum: 'string',
    'keep-git-dir': 'bool',
    unpack: 'bool',
  },
  healthcheck: {
    interval: 'string',
    timeout: 'string',
    'start-period': 'string',
    'start-interval': 'string',
    retries: 'string',
  },
};

const VALID_STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;
/** Docker's minimum for a non-zero health-check interval: 1ms. */
const MIN_HEALTH_DURATION = 1e6;

/** Converts one node; `fail` throws a located error. */
export function toInstruction(node: Node, fail: Fail): Instruction {
  const base: InstructionBase = { range: node.range, original: node.original, keyword: node.keywordText };
  const upper = node.keyword.toUpperCase();
  const flags = (): FlagValues => parseFlags(upper, node.flags, FLAGS[node.keyword] ?? {}, fail);
  const exactlyOne = (): string => {
    if (node.args.length !== 1) fail(`${upper} requires exactly one argument`);
    flags();
    return node.args[0] ?? '';
  };
  const atLeastOne = (): void => {
    if (node.args.length === 0) fail(`${upper} requires at least one argument`);
  };

  switch (node.keyword) {
    case 'from': {
      const from = fromArgs(node.args, fail);
      return {
        ...base,
        kind: 'FROM',
        ...from,
        ...optional('description', from.stageName === undefined ? undefined : description(node.comments, from.stageName)),
        ...optional('platform', flags().string('platform')),
      };
    }
    case 'run': {
      const f = flags();
      const mounts = f.list('mount').map((text) => parseMountOptions(text, fail));
      return {
        ...base,
        kind: 'RUN',
        command: commandLine(node),
        mounts,
        ...optional('network', f.string('network')),
        ...optional('security', f.string('security')),
      };
    }
    case 'cmd':
      flags();
      return { ...base, kind: 'CMD', command: commandLine(node) };
    case 'entrypoint':
      flags();
      return { ...base, kind: 'ENTRYPOINT', command: commandLine(node) };
    case 'shell':
      flags();
      if (node.args.length === 0) fail('SHELL requires at least one argument');
      if (!node.json) fail('SHELL requires the arguments to be in JSON form', node.args[0]);
      return { ...base, kind: 'SHELL', shell: node.args };
    case 'healthcheck':
      return healthcheck(node, base, flags, fail);
    case 'copy':
    case 'add':
      return fileInstruction(node, base, flags(), fail);
    case 'env':
    case 'label': {
      flags();
      atLeastOne();
      const pairs = keyValues(node.args, upper, fail);
      return node.keyword === 'env' ? { ...base, kind: 'ENV', pairs } : { ...base, kind: 'LABEL', pairs };
    }
    case 'arg': {
      flags();
      atLeastOne();
      const args = node.args.map((word) => {
        const eq = word.indexOf('=');
        if (eq === 0) fail('ARG names can not be blank', word);
        const key = eq < 0 ? word : word.slice(0, eq);
        return { key, value: eq < 0 ? undefined : word.slice(eq + 1), ...optional('description', description(node.comments, key)) };
      });
      return { ...base, kind: 'ARG', args };
    }
    case 'expose':
      flags();
      atLeastOne();
      return { ...base, kind: 'EXPOSE', ports: [...node.args] };
    case 'volume': {
      flags();
      atLeastOne();
      const paths = node.args.map((v) => v.trim());
      if (paths.some((p) => p === '')) fail('VOLUME specified can not be an empty string');
      return { ...base, kind: 'VOLUME', paths };
    }
    case 'user':
      return { ...base, kind: 'USER', user: exactlyOne() };
    case 'workdir':
      return { ...base, kind: 'WORKDIR', path: exactlyOne() };
    case 'stopsignal':
      return { ...base, kind: 'STOPSIGNAL', signal: exactlyOne() };
    case 'maintainer':
      return { ...base, kind: 'MAINTAINER', maintainer: exactlyOne() };
    case 'onbuild':
      return onbuild(node, base, flags, fail);
    default:
      return fail(`unknown instruction: ${node.keywordText}${didYouMean(node.keywordText, INSTRUCTION_KEYWORDS)}`, node.keywordText);
  }
}

/** `{ [key]: value }` when value is defined, `{}` otherwise (keeps optional fields absent). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** BuildKit's description rule: the first comment line that starts with `name ` gives the rest. */
function description(comments: readonly string[], name: string): string | undefined {
  for (const line of comments) if (line.startsWith(`${name} `)) return line.slice(name.length + 1);
  return undefined;
}

function fromArgs(args: string[], fail: Fail): { image: string; stageName?: string; alias?: { keyword: string; name: string } } {
  if (args.length === 3 && (args[1] ?? '').toLowerCase() === 'as') {
    const written = args[2] ?? '';
    const stageName = written.toLowerCase();
    if (!VALID_STAGE_NAME.test(stageName)) {
      fail(`invalid name for build stage: "${written}", name can't start with a number or contain symbols`, written);
    }
    return { image: args[0] ?? '', stageName, alias: { keyword: args[1] ?? '', name: written } };
  }
  if (args.length !== 1) fail('FROM requires either one or three arguments');
  return { image: args[0] ?? '' };
}

function commandLine(node: Node): CommandLine {
  return { args: [...node.args], shellForm: !node.json, heredocs: node.heredocs.map((h) => ({ ...h })) };
}

function keyValues(args: string[], upper: string, fail: Fail): KeyValue[] {
  const pairs: KeyValue[] = [];
  for (let i = 0; i + 1 < args.length; i += 3) {
    const key = args[i] ?? '';
    if (key === '') fail(`${upper} names can not be blank`);
    pairs.push({ key, value: args[i + 1] ?? '', ...(args[i + 2] === '' ? { legacy: true } : {}) });
  }
  return pairs;
}

/** Removes leading tabs from every line, as `<<-` asks. */
export function chompHeredoc(content: string): string {
  return content.replace(/^\t+/gm, '');
}

function fileInstruction(node: Node, base: InstructionBase, f: FlagValues, fail: Fail): CopyInstruction | AddInstruction {
  const upper = node.keyword.toUpperCase();
  if (node.args.length < 2) {
    fail(`${upper} requires at least two arguments, but only one was provided. Destination could not be determined`);
  }
  const dest = node.args[node.args.length - 1] ?? '';
  if (!node.json && parseHeredocWord(dest)) fail(`${upper} cannot accept a heredoc as a destination`, dest);
  const bodies = new Map(node.heredocs.map((h) => [h.name, h.content]));
  const sources: string[] = [];
  const inline: InlineSource[] = [];
  for (const src of node.args.slice(0, -1)) {
    const heredoc = node.json ? undefined : parseHeredocWord(src);
    if (heredoc) {
      const content = bodies.get(heredoc.name) ?? '';
      inline.push({ path: heredoc.name, content: heredoc.chomp ? chompHeredoc(content) : content, expand: heredoc.expand });
    } else {
      sources.push(src);
    }
  }
  const common: Omit<FileInstructionBase, 'kind'> = {
    ...base,
    sources,
    inline,
    dest,
    ...optional('chown', f.string('chown')),
    ...optional('chmod', f.string('chmod')),
    link: f.bool('link') ?? false,
    parents: f.bool('parents') ?? false,
    exclude: f.list('exclude'),
  };
  if (node.keyword === 'add') {
    return {
      ...common,
      kind: 'ADD',
      ...optional('checksum', f.string('checksum')),
      keepGitDir: f.bool('keep-git-dir') ?? false,
      ...optional('unpack', f.bool('unpack')),
    };
  }
  const from = f.string('from');
  if (from !== undefined && from.includes('$')) {
    fail(
      'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround',
      `--from=${from}`,
    );
  }
  return { ...common, kind: 'COPY', ...optional('from', from) };
}

function healthcheck(node: Node, base: InstructionBase, flags: () => FlagValues, fail: Fail): HealthcheckInstruction {
  if (node.args.length === 0) fail('HEALTHCHECK requires at least one argument');
  const type = (node.args[0] ?? '').toUpperCase();
  const rest = node.args.slice(1);
  const none = { interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 };
  if (type === 'NONE') {
    if (rest.length !== 0) fail('HEALTHCHECK NONE takes no arguments');
    flags();
    return { ...base, kind: 'HEALTHCHECK', test: ['NONE'], ...none };
  }
  const f = flags();
  if (type !== 'CMD') fail(`Unknown type "${type}" in HEALTHCHECK (try CMD)`, node.args[0]);
  if (rest.length === 0) fail('Missing command after HEALTHCHECK CMD');
  const duration = (name: string): number => {
    const text = f.string(name);
    if (text === undefined || text === '') return 0;
    let nanos: number;
    try {
      nanos = parseGoDuration(text);
    } catch (err) {
      return fail((err as Error).message, `--${name}`);
    }
    if (nanos !== 0 && nanos < MIN_HEALTH_DURATION) fail(`Interval "${name}" cannot be less than 1ms`, `--${name}`);
    return nanos;
  };
  const retriesText = f.string('retries');
  let retries = 0;
  if (retriesText !== undefined && retriesText !== '') {
    if (!/^[+-]?\d+$/.test(retriesText)) fail(`strconv.ParseInt: parsing "${retriesText}": invalid syntax`, '--retries');
    retries = Number(retriesText);
    if (retries < 0) fail(`--retries cannot be negative (${retries})`, '--retries');
  }
  return {
    ...base,
    kind: 'HEALTHCHECK',
    test: [node.json ? 'CMD' : 'CMD-SHELL', ...rest],
    interval: duration('interval'),
    timeout: duration('timeout'),
    startPeriod: duration('start-period'),
    startInterval: duration('start-interval'),
    retries,
  };
}

function onbuild(node: Node, base: InstructionBase, flags: () => FlagValues, fail: Fail): Instruction {
  flags();
  const trigger = node.trigger;
  if (!trigger) return fail('ONBUILD requires at least one argument');
  const keyword = trigger.keyword.toUpperCase();
  if (keyword === 'ONBUILD') fail("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", trigger.original);
  if (keyword === 'FROM' || keyword === 'MAINTAINER') fail(`${keyword} isn't allowed as an ONBUILD trigger`, trigger.original);
  let expression = node.original.replace(/^\s*ONBUILD\s*/i, '');
  for (const heredoc of trigger.heredocs) expression += `\n${heredoc.content}${heredoc.name}`;
  const parsed = toInstruction(trigger, fail);
  // FROM was rejected above, so the trigger is a stage instruction.
  return { ...base, kind: 'ONBUILD', expression, trigger: parsed as Exclude<Instruction, { kind: 'FROM' }> };
}
