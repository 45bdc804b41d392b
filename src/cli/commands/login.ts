/**
 * `sandbox login [-u USER] [-p PASS | --password-stdin] [--tls-verify=false] [--authfile F] REGISTRY`
 * checks the credentials with the registry and records them in auth.json (as Podman);
 * `sandbox logout [--all] [--authfile F] [REGISTRY]` forgets them.
 */
import type { CommandModule } from 'yargs';
import { homedir } from 'node:os';
import { SandboxError } from '../../errors.js';
import type { GlobalArgs } from '../context.js';
import { removeCredentials, storeCredentials, authFileToWrite, type AuthFileEnv } from '../../images/registry/auth-file.js';
import { endpointOf, registryOfLoginArg } from '../../images/registry/reference.js';
import { transfer } from '../../images/lazy-transfer.js';
import { withAuthFileOption, withRegistryOptions, type RegistryArgs } from '../registry-options.js';

interface LoginArgs extends GlobalArgs, RegistryArgs {
  registry: string;
  username?: string;
  password?: string;
  'password-stdin'?: boolean;
}

interface LogoutArgs extends GlobalArgs, Pick<RegistryArgs, 'authfile'> {
  registry?: string;
  all?: boolean;
}

function authEnv(authFile: string | undefined): AuthFileEnv {
  return { env: process.env, home: process.env.HOME || homedir(), authFile };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Asks on the terminal; with `hidden` the answer is not echoed. */
async function ask(question: string, hidden: boolean): Promise<string> {
  // require, not import(): bin/sandbox runs the bundle through vm.Script, which has no import().
  const { createInterface } = require('node:readline') as typeof import('node:readline');
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  if (hidden) {
    // Echo nothing but the question itself.
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
      if (s.startsWith(question)) process.stderr.write(question);
    };
  }
  return new Promise((resolve) => rl.question(question, (answer) => {
    rl.close();
    if (hidden) process.stderr.write('\n');
    resolve(answer);
  }));
}

export const loginCommand: CommandModule<GlobalArgs, LoginArgs> = {
  command: 'login <registry>',
  describe: 'Log in to a registry (credentials go to auth.json, as Podman)',
  builder: (y) => withRegistryOptions(y)
    .positional('registry', { type: 'string', demandOption: true, describe: 'HOST[:PORT]' })
    .option('username', { alias: 'u', type: 'string', describe: 'User name' })
    .option('password', { alias: 'p', type: 'string', describe: 'Password (visible to other users in ps: prefer --password-stdin)' })
    .option('password-stdin', { type: 'boolean', describe: 'Read the password from stdin' }),
  handler: async (argv) => {
    const registry = registryOfLoginArg(argv.registry);
    const tty = !!process.stdin.isTTY;
    if (argv.password !== undefined && argv['password-stdin']) {
      throw new SandboxError('--password and --password-stdin exclude each other', { hint: 'give the password one way' });
    }
    let username = argv.username;
    if (username === undefined) {
      if (!tty || argv['password-stdin']) throw new SandboxError('no user name given', { hint: `use sandbox login -u USER ${argv.registry}` });
      username = await ask('Username: ', false);
    }
    let password = argv.password;
    if (argv['password-stdin']) password = await readStdin();
    if (password === undefined) {
      if (!tty) throw new SandboxError('no password given', { hint: 'use --password-stdin (or -p PASSWORD)' });
      password = await ask('Password: ', true);
    }
    if (!username || !password) throw new SandboxError('the user name and password must not be empty', { hint: 'give both' });
    const { RegistryClient } = transfer();
    const client = new RegistryClient(registry, endpointOf(registry), '', {
      tlsVerify: argv['tls-verify'], credentials: { username, password }, actions: [],
    });
    await client.verifyLogin();
    storeCredentials(authEnv(argv.authfile), registry, { username, password });
    process.stdout.write('Login Succeeded!\n');
  },
};

export const logoutCommand: CommandModule<GlobalArgs, LogoutArgs> = {
  command: 'logout [registry]',
  describe: 'Forget the credentials of a registry (--all: of every registry)',
  builder: (y) => withAuthFileOption(y)
    .positional('registry', { type: 'string', describe: 'HOST[:PORT]' })
    .option('all', { alias: 'a', type: 'boolean', describe: 'Forget every registry\'s credentials' }),
  handler: (argv) => {
    const env = authEnv(argv.authfile);
    if (argv.all) {
      removeCredentials(env, undefined, true);
      process.stdout.write('Removed login credentials for all registries\n');
      return;
    }
    if (!argv.registry) throw new SandboxError('no registry given', { hint: 'use sandbox logout HOST[:PORT], or --all' });
    const registry = registryOfLoginArg(argv.registry);
    if (!removeCredentials(env, registry)) {
      throw new SandboxError(`not logged in to ${registry}`, { hint: `nothing for it in ${authFileToWrite(env)}` });
    }
    process.stdout.write(`Removed login credentials for ${registry}\n`);
  },
};
