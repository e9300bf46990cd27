/**
 * `tsbuild build [options] CONTEXT` (also the default command: `tsbuild -t app .`).
 * Flags → a `PlanRequest` → one library call → output on stdout.
 */
import type { Command } from 'commander';
import { readFile, writeFile } from 'node:fs/promises';
import type { OutputResult } from '../../index.js';
import { InvalidArgumentError } from '../../errors.js';
import { build, loadPlan } from '../verbs.js';
import { jsonProgress, plainProgress } from '../render/plain.js';
import { ttyProgress } from '../render/tty.js';
import { messagesOnStderr, registriesFromFlags, type CliContext, type GlobalFlags } from '../context.js';
import { ranInUserNamespace } from '../rootless.js';
import { collect, keyValues } from '../key-values.js';
import { checkAttestationFlag } from '../attestations.js';
import { buildContextFlags, localInput, stdoutTaken } from '../build-inputs.js';
import { checkAfterBuild, checkBeforeBuild, parseCall, runCall } from './calls.js';
import { loadLibrary } from '../load-library.js';

interface BuildFlags {
  file?: string;
  target?: string;
  buildArg: string[];
  label: string[];
  platform: string[];
  tag: string[];
  output: string[];
  push?: boolean;
  annotation: string[];
  printPlan?: string | boolean;
  resolveBases?: boolean;
  /** `--no-cache` (commander reads a `--no-` flag as the negation of `cache`). */
  cache: boolean;
  /** `--no-cache-filter` (likewise stored without the `no-`). */
  cacheFilter: string[];
  cacheTo?: string;
  cacheFrom: string[];
  pull?: boolean;
  secret: string[];
  iidfile?: string;
  metadataFile?: string;
  progress: string;
  quiet?: boolean;
  jobs?: string;
  call: string;
  check?: boolean;
  network?: string;
  allow: string[];
  addHost: string[];
  shmSize?: string;
  ulimit: string[];
  provenance?: string;
  sbom?: string;
  buildContext: string[];
  load?: boolean;
  ssh: string[];
}

/** Registers the build command on `program`. */
export function registerBuild(program: Command, cli: CliContext): void {
  program
    .command('build', { isDefault: true })
    .description('build an image from a Dockerfile and a context directory')
    .argument('[context]', 'the build context: a directory, - (a tar or a Dockerfile on stdin), a git URL (…repo.git#ref:dir) or a tarball URL', '.')
    .option('-f, --file <path>', 'the Dockerfile (default: CONTEXT/Dockerfile; - reads it from stdin)')
    .option(
      '--build-context <name=source>',
      'a named context: DIR, docker-image://REF, oci-layout://DIR[:TAG], a git or https URL (repeatable)',
      collect,
      [],
    )
    .option('-t, --tag <name:tag>', 'name the resulting image (repeatable)', collect, [])
    .option('-o, --output <spec>', 'where the image goes (repeatable): type=image|registry|oci|docker|local|tar[,dest=PATH][,name=…]', collect, [])
    .option('--push', 'push the image to the registry of each -t name (shorthand for type=registry)')
    .option('--load', 'load the image into Docker (a docker archive into `docker load`; shorthand for type=docker)')
    .option('--annotation <key=value>', 'add a manifest annotation (repeatable)', collect, [])
    .option('--target <stage>', 'build this stage and what it needs')
    .option('--build-arg <key=value>', 'set a build-time variable (repeatable)', collect, [])
    .option('--label <key=value>', 'add a label to the image (repeatable)', collect, [])
    .option('--platform <os/arch>', 'the platform to build for (default: this machine); several (a,b or repeated) make an image index', collect, [])
    .option('--print-plan [format]', 'print the build plan and stop: text (default) or json')
    .option(
      '--call <method>',
      "evaluate the build instead: check (BuildKit's Dockerfile checks), outline (its args and secrets), targets (its stages)",
      'build',
    )
    .option('--check', 'shorthand for --call=check')
    .option('--resolve-bases', 'look base images up in their registries (config only) for the plan')
    .option('--no-cache', 'run every step again instead of using the cache')
    .option('--no-cache-filter <stage>', 'run the steps of this stage again (repeatable)', collect, [])
    .option('--pull', 'look base images up in their registries even when stored locally')
    .option('--cache-to <spec>', 'export the build cache: type=local,dest=DIR or type=registry,ref=NAME:TAG[,mode=min|max]')
    .option('--cache-from <spec>', 'import a build cache: type=local,src=DIR or type=registry,ref=NAME:TAG (repeatable)', collect, [])
    .option('--secret <id=ID,src=FILE>', 'a secret for RUN --mount=type=secret (repeatable; env=VAR reads a variable)', collect, [])
    .option(
      '--ssh <id[=socket|key]>',
      'an SSH agent for RUN --mount=type=ssh: default ($SSH_AUTH_SOCK), ID=SOCKET or ID=KEY[,KEY] (repeatable)',
      collect,
      [],
    )
    .option('--network <mode>', 'the network of RUN steps: default (own namespace, no host loopback), none, host')
    .option('--allow <entitlement>', 'allow network.host or security.insecure for RUN steps that ask (repeatable)', collect, [])
    .option('--add-host <name=ip>', 'an /etc/hosts entry for RUN steps (repeatable; name:ip too)', collect, [])
    .option('--shm-size <bytes>', 'the size of /dev/shm in RUN steps (64m by default)')
    .option('--ulimit <name=soft:hard>', 'a resource limit for RUN steps, e.g. nofile=1024:2048 (repeatable)', collect, [])
    .option('--provenance <value>', 'accepted as false only: tsbuild makes no provenance attestation')
    .option('--sbom <value>', 'accepted as false only: tsbuild makes no SBOM attestation')
    .option('--iidfile <file>', 'write the image id (config digest; with several platforms, the index digest) to a file')
    .option('--metadata-file <file>', 'write the build result (digest, config, names) as JSON')
    .option('--progress <mode>', 'auto, tty, plain, json or quiet (auto: tty on a terminal, else plain)', 'auto')
    .option('-q, --quiet', 'print only the image id (config digest), no progress')
    .option('-j, --jobs <n>', 'steps run at once across stages (default: twice the CPU count, at least 4)')
    .action(async (argument: string, flags: BuildFlags, command: Command) => {
      const format = planFormat(flags.printPlan);
      const call = parseCall(flags.check ? 'check' : flags.call);
      // An unprivileged user's build runs again inside a user namespace, which does all of this;
      // before anything reads stdin (a Dockerfile or a context there), which that process inherits.
      // A plan or a --call other than build touches no snapshot: it runs here, without one.
      const builds = format === undefined && call.name === 'build';
      if (builds && (await ranInUserNamespace(cli, command.optsWithGlobals<GlobalFlags>().root))) return;
      // The context made local once (checks and build read the same); removed when the command ends.
      const context = await localInput(argument, flags, command, cli);
      checkAttestationFlag('--provenance', flags.provenance);
      checkAttestationFlag('--sbom', flags.sbom);
      if (call.name !== 'build' && format !== undefined) throw new InvalidArgumentError('--call and --check cannot be combined with --print-plan');
      const globals = command.optsWithGlobals<GlobalFlags>();
      // What planning and building share: the Dockerfile, stage, platform, arguments, registries.
      const common = {
        context,
        ...(flags.file === undefined ? {} : { dockerfile: flags.file }),
        ...(flags.target === undefined ? {} : { target: flags.target }),
        // Planning and the checks look at one platform, the first (as `buildx --call` does).
        ...(flags.platform.length === 0 ? {} : { platform: (flags.platform[0] ?? '').split(',')[0] ?? '' }),
        buildArgs: keyValues(flags.buildArg, '--build-arg'),
        labels: keyValues(flags.label, '--label'),
        signal: cli.signal,
      };
      const registries = {
        registries: registriesFromFlags(globals),
        ...(globals.registriesConfig ? { registriesConfig: globals.registriesConfig } : {}),
      };
      // What the checks need besides the plan's inputs: the store to find base images in.
      const checkRequest = {
        ...common,
        ...registries,
        pull: flags.pull === true,
        buildContexts: buildContextFlags(flags.buildContext),
        progress: messagesOnStderr,
        ...(globals.root ? { root: globals.root } : {}),
      };
      if (call.name !== 'build') return runCall(call, checkRequest, cli, globals.debug === true);
      if (format === undefined) {
        const mode = flags.quiet ? 'quiet' : flags.progress;
        if (!['auto', 'plain', 'tty', 'json', 'quiet'].includes(mode))
          throw new InvalidArgumentError(`unknown --progress mode "${mode}"`, { hint: 'use auto, tty, plain, json or quiet' });
        // BuildKit lists the Dockerfile's findings when a build ends, except in quiet and JSON modes.
        const showWarnings = mode !== 'quiet' && mode !== 'json';
        // The build plans (and reports what is wrong) itself: the checks need not.
        const checks = { ...checkRequest, allStages: false, validate: false };
        const checked = await checkBeforeBuild(checks, showWarnings, globals.debug === true);
        // auto: the live view on a terminal, plain lines in CI and pipes (as BuildKit decides).
        const tty = mode === 'tty' || (mode === 'auto' && process.stderr.isTTY && !process.env.CI) ? ttyProgress(process.stderr) : undefined;
        const json = mode === 'json' ? jsonProgress() : undefined;
        const progress = json ?? (mode === 'quiet' ? undefined : (tty ?? plainProgress()));
        // The value parsers load with the build, not when the CLI starts (`--version`, `--help`).
        const { buildOutputs, parseByteSize, parseCacheSpec, parseEntitlements, parseHostEntry, parseNetworkMode, parseSsh, parseUlimit } =
          await loadLibrary();
        const outputs = buildOutputs(flags.output, { push: flags.push === true, load: flags.load === true, annotations: flags.annotation });
        const stdoutUsed = await stdoutTaken(outputs);
        let failed = true;
        const result = await build({
          ...common,
          ...(flags.platform.length === 0 ? {} : { platform: flags.platform }),
          tags: flags.tag,
          ...(flags.jobs === undefined ? {} : { jobs: positiveInteger(flags.jobs, '--jobs') }),
          outputs,
          buildContexts: buildContextFlags(flags.buildContext),
          ssh: flags.ssh.map(parseSsh),
          noCache: flags.cache === false,
          noCacheFilter: flags.cacheFilter,
          pull: flags.pull === true,
          ...(flags.cacheTo ? { cacheTo: parseCacheSpec(flags.cacheTo, 'to') } : {}),
          cacheFrom: flags.cacheFrom.map((spec) => parseCacheSpec(spec, 'from')),
          secrets: await readSecrets(flags.secret),
          ...(flags.network === undefined ? {} : { network: parseNetworkMode(flags.network) }),
          allow: parseEntitlements(flags.allow),
          addHosts: flags.addHost.map(parseHostEntry),
          ...(flags.shmSize === undefined ? {} : { shmSize: parseByteSize(flags.shmSize, '--shm-size') }),
          ulimits: flags.ulimit.map(parseUlimit),
          ...(globals.root ? { root: globals.root } : {}),
          ...registries,
          ...(progress ? { progress } : {}),
        })
          .then((r) => {
            failed = false;
            json?.result({ id: r.config, digest: r.digest, names: r.tags, ran: r.ran, cached: r.cached });
            return r;
          })
          .catch((err: unknown) => {
            json?.result({ error: err instanceof Error ? err.message : String(err) });
            throw err;
          })
          .finally(() => tty?.finish(failed));
        const final = await checkAfterBuild(checks, checked);
        // The parser's warnings (empty continuation lines) are the check's NoEmptyContinuation findings.
        const parserWarnings = final?.dockerfile.warnings.map((w) => `: ${w.message}`) ?? [];
        for (const warning of result.plan.warnings) {
          if (!parserWarnings.some((w) => warning.endsWith(w))) process.stderr.write(`warning: ${warning}\n`);
        }
        if (showWarnings) process.stderr.write(`${result.ran} steps run, ${result.cached} cached${result.outputs.map(describeOutput).join('')}\n`);
        const { formatBuildWarnings } = await loadLibrary();
        if (showWarnings && final) process.stderr.write(formatBuildWarnings(final.warnings, final.file, final.source, globals.debug === true));
        // The image id (config digest), as buildx prints and writes it; every image command takes it.
        // Several platforms have no one config: their id is the index's digest, as in a containerd image store.
        const imageId = result.platforms.length > 1 ? result.digest : result.config;
        if (flags.iidfile) await writeNamed('--iidfile', flags.iidfile, imageId);
        if (flags.metadataFile) {
          const names = [...new Set(result.outputs.flatMap((o) => o.names))];
          const metadata = {
            'containerimage.digest': result.digest,
            'containerimage.config.digest': result.config,
            ...(result.platforms.length > 1 ? { 'tsbuild.platforms': result.platforms } : {}),
            'image.name': names.join(','),
            'tsbuild.outputs': result.outputs,
            'tsbuild.steps': { ran: result.ran, cached: result.cached },
          };
          await writeNamed('--metadata-file', flags.metadataFile, `${JSON.stringify(metadata, null, 2)}\n`);
        }
        if (!stdoutUsed) process.stdout.write(`${imageId}\n`);
        return;
      }
      const plan = await loadPlan({ ...common, ...(flags.resolveBases ? { resolveBaseImages: true, ...registries } : {}) });
      for (const warning of plan.warnings) process.stderr.write(`warning: ${warning}\n`);
      const { formatPlan } = await loadLibrary();
      process.stdout.write(format === 'json' ? `${JSON.stringify(plan, null, 2)}\n` : formatPlan(plan));
    });
}

/** `; named a:1` / `; pushed a:1` / `; wrote oci to out.tar`, for the summary line. */
function describeOutput(output: OutputResult): string {
  if (output.type === 'image') return output.names.length === 0 ? '' : `; ${output.pushed ? 'pushed' : 'named'} ${output.names.join(', ')}`;
  return `; wrote ${output.type} to ${output.dest ?? ''}`;
}

/** Writes a file the user named with `flag`; failing to is their error, in one line. */
async function writeNamed(flag: string, file: string, content: string): Promise<void> {
  await writeFile(file, content).catch((err: NodeJS.ErrnoException) => {
    throw new InvalidArgumentError(`cannot write ${flag} ${file}: ${err.code ?? err.message}`);
  });
}

/** `--secret id=ID,src=FILE` or `id=ID,env=VAR` → secret values by id. */
async function readSecrets(specs: readonly string[]): Promise<Record<string, Buffer>> {
  const secrets: Record<string, Buffer> = {};
  for (const spec of specs) {
    const fields = Object.fromEntries(spec.split(',').map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)]));
    const id = fields.id;
    if (!id) throw new InvalidArgumentError(`invalid --secret "${spec}": expected id=ID,src=FILE or id=ID,env=VAR`);
    const src = fields.src ?? fields.source;
    if (src) {
      secrets[id] = await readFile(src).catch((err: NodeJS.ErrnoException) => {
        throw new InvalidArgumentError(`invalid --secret "${spec}": cannot read ${src} (${err.code ?? err.message})`);
      });
    } else if (fields.env && process.env[fields.env] !== undefined) secrets[id] = Buffer.from(process.env[fields.env] ?? '');
    else if (process.env[id] !== undefined) secrets[id] = Buffer.from(process.env[id] ?? '');
  }
  return secrets;
}

function positiveInteger(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`invalid ${flag} "${text}": expected a positive whole number`);
  return n;
}

/** The --print-plan format, checked before any work is done. */
function planFormat(value: string | boolean | undefined): 'text' | 'json' | undefined {
  if (value === undefined) return undefined;
  if (value === true || value === 'text') return 'text';
  if (value === 'json') return 'json';
  throw new InvalidArgumentError(`unknown --print-plan format "${String(value)}"`, { hint: 'use --print-plan or --print-plan=json' });
}
