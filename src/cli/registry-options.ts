/**
 * The options of every command that talks to a registry, declared once: `pull`, `push`
 * and `login` take all of them, `logout` only `--authfile`. (`run --pull` has its own
 * `--tls-verify` in the run option table.)
 */
import type { Argv } from 'yargs';

export interface RegistryArgs {
  'tls-verify'?: boolean;
  authfile?: string;
}

/** `--authfile`, alone for `logout`. */
export function withAuthFileOption<T>(y: Argv<T>): Argv<T & Pick<RegistryArgs, 'authfile'>> {
  return y.option('authfile', { type: 'string', describe: 'Credentials file (default: as Podman, also REGISTRY_AUTH_FILE)' });
}

/** `--tls-verify` and `--authfile`. */
export function withRegistryOptions<T>(y: Argv<T>): Argv<T & RegistryArgs> {
  return withAuthFileOption(y.option('tls-verify', { type: 'boolean', describe: 'Require HTTPS with a valid certificate (false: accept any, and plain HTTP)' }));
}

/** What the image transfer functions take from those options. */
export function registryOptions(argv: RegistryArgs): { tlsVerify?: boolean; authFile?: string } {
  return { tlsVerify: argv['tls-verify'], authFile: argv.authfile };
}
