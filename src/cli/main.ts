/**
 * Entry point of the CLI. Start-up is paid by every Makefile line, so the commonest
 * commands, `run`, `exec` and `ps`, go straight to their handlers (their options are parsed
 * by our own tables in run-option-table.ts and exec-options.ts anyway); everything else,
 * and their --help, loads the full yargs CLI.
 */
import { reportError } from '../errors.js';
import { storeDirOfArgv } from './context.js';
import { runFromArgv } from './commands/run.js';
import { execFromArgv } from './exec-main.js';
import { imageOfRecord } from './commands/exec.js';
import { psFromArgv } from './commands/ps.js';
import { healthcheckFromArgv } from './commands/healthcheck.js';
import { versionCommand } from './commands/version.js';

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'run' && (await runFromArgv(argv.slice(1), {}))) return;
  // bin/sandbox runs exec from its own bundle (dist/exec.cjs); it comes here for what that leaves.
  if (argv[0] === 'exec' && (await execFromArgv(argv.slice(1), {}, imageOfRecord))) return;
  if (argv[0] === 'ps' && psFromArgv(argv.slice(1))) return;
  // What a sandbox's monitor runs at every health check interval.
  if (argv[0] === 'healthcheck' && (await healthcheckFromArgv(argv.slice(1)))) return;
  if (argv[0] === 'version' && argv.length === 1) return versionCommand.handler({ _: [], $0: 'sandbox' });
  const { runYargs } = await import('./yargs-cli.js');
  await runYargs(argv);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.exitCode = reportError(err, () => storeDirOfArgv(process.argv.slice(2)));
});
