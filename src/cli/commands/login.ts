/**
 * `tsbuild login [SERVER]` and `tsbuild logout [SERVER]`; credentials go to the docker config
 * (`$DOCKER_CONFIG/config.json` or a credential helper).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors.js';
import { login, logout } from '../verbs.js';
import { registriesFromFlags, type CliContext, type GlobalFlags } from '../context.js';

/** Registers `login` and `logout`. */
export function registerLogin(program: Command, context: CliContext): void {
  program
    .command('login')
    .description('log in to a registry (default: Docker Hub)')
    .argument('[server]', 'registry host, e.g. localhost:5000')
    .option('-u, --username <name>', 'username')
    .option('-p, --password <password>', 'password (prefer --password-stdin)')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (server: string | undefined, flags: { username?: string; password?: string; passwordStdin?: boolean }, command: Command) => {
      const globals = command.optsWithGlobals<GlobalFlags>();
      if (flags.password && flags.passwordStdin) throw new InvalidArgumentError('--password and --password-stdin are mutually exclusive');
      const password = flags.passwordStdin ? (await readStdin()).replace(/\r?\n$/, '') : flags.password;
      if (!flags.username || !password) throw new InvalidArgumentError('login needs --username and --password or --password-stdin');
      const host = await login(
        server,
        { username: flags.username, password },
        {
          registries: registriesFromFlags(globals),
          ...(globals.registriesConfig ? { registriesConfig: globals.registriesConfig } : {}),
          signal: context.signal,
        },
      );
      process.stderr.write(`Login Succeeded (${host})\n`);
    });

  program
    .command('logout')
    .description('remove the stored credentials of a registry')
    .argument('[server]', 'registry host')
    .action(async (server: string | undefined) => {
      const { host, removed } = await logout(server);
      process.stderr.write(removed ? `Removed login credentials for ${host}\n` : `Not logged in to ${host}\n`);
    });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
