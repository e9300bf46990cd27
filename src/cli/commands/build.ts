/**
 * `tsbuild build [options] CONTEXT` (also the default command: `tsbuild -t app .`).
 * Flags → a `PlanRequest` → one library call → output on stdout.
 */
import type { Command } from 'commander';
import { formatPlan, InvalidArgumentError, loadPlan, UnsupportedError } from '../../index.js';
import { registriesFromFlags, type CliContext, type GlobalFlags } from '../context.js';
import { collect, keyValues } from '../key-values.js';

interface BuildFlags {
  file?: string;
  target?: string;
  buildArg: string[];
  label: string[];
  platform?: string;
  tag: string[];
  printPlan?: string | boolean;
  resolveBases?: boolean;
}

/** Registers the build command on `program`. */
export function registerBuild(program: Command, cli: CliContext): void {
  program
    .command('build', { isDefault: true })
    .description('build an image from a Dockerfile and a context directory')
    .argument('[context]', 'the build context directory', '.')
    .option('-f, --file <path>', 'the Dockerfile (default: CONTEXT/Dockerfile)')
    .option('-t, --tag <name:tag>', 'name the resulting image (repeatable)', collect, [])
    .option('--target <stage>', 'build this stage and what it needs')
    .option('--build-arg <key=value>', 'set a build-time variable (repeatable)', collect, [])
    .option('--label <key=value>', 'add a label to the image (repeatable)', collect, [])
    .option('--platform <os/arch>', 'the platform to build for (default: this machine)')
    .option('--print-plan [format]', 'print the build plan and stop: text (default) or json')
    .option('--resolve-bases', 'look base images up in their registries (config only) for the plan')
    .action(async (context: string, flags: BuildFlags, command: Command) => {
      const format = planFormat(flags.printPlan);
      const globals = command.optsWithGlobals<GlobalFlags>();
      const plan = await loadPlan({
        context,
        ...(flags.file === undefined ? {} : { dockerfile: flags.file }),
        ...(flags.target === undefined ? {} : { target: flags.target }),
        ...(flags.platform === undefined ? {} : { platform: flags.platform }),
        buildArgs: keyValues(flags.buildArg, '--build-arg'),
        labels: keyValues(flags.label, '--label'),
        ...(flags.resolveBases
          ? {
              resolveBaseImages: true,
              registries: { registries: registriesFromFlags(globals), ...(globals.registriesConfig ? { registriesConfig: globals.registriesConfig } : {}) },
            }
          : {}),
        signal: cli.signal,
      });
      for (const warning of plan.warnings) process.stderr.write(`warning: ${warning}\n`);
      if (format === 'json') process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
      else if (format === 'text') process.stdout.write(formatPlan(plan));
      else {
        throw new UnsupportedError('running builds is not implemented yet: this version plans builds only', {
          hint: 'use --print-plan to see what the build would do',
        });
      }
    });
}

/** The --print-plan format, checked before any work is done. */
function planFormat(value: string | boolean | undefined): 'text' | 'json' | undefined {
  if (value === undefined) return undefined;
  if (value === true || value === 'text') return 'text';
  if (value === 'json') return 'json';
  throw new InvalidArgumentError(`unknown --print-plan format "${String(value)}"`, { hint: 'use --print-plan or --print-plan=json' });
}
