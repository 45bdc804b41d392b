/**
 * Entry point of the CLI. Start-up is paid by every Makefile line, so the commonest
 * commands, `run`, `exec` and `ps`, go straight to their handlers (their options are parsed
 * by our own tables in run-option-table.ts and exec-options.ts anyway); everything else,
 * and their --help, loads the full yargs CLI.
 */
import { reportError } from '../errors.js';
import { storeDirOfArgv } from './context.js';
import { applyGlobals, leadingGlobals, storeArgs } from './global-options.js';
import { runFromArgv } from './commands/run.js';
import { execFromArgv } from './exec-main.js';
import { imageOfRecord } from './commands/exec.js';
import { psFromArgv } from './commands/ps.js';
import { healthcheckFromArgv } from './commands/healthcheck.js';
import { versionCommand } from './commands/version.js';
import { fastVerbWords } from './fast-verbs.js';

async function main(argv: string[]): Promise<void> {
  // run and create read their own words (-h is --hostname there, as in Podman): yargs only renders their help.
  // `container run|create|exec|ls` are the top-level verbs (fast-verbs.ts), after Podman's global options.
  const { at, values, words } = leadingGlobals(argv);
  applyGlobals(values);
  const globals = storeArgs(values);
  const fast = fastVerbWords(argv.slice(at));
  if ((fast[0] === 'run' || fast[0] === 'create') && (await runFromArgv(fast.slice(1), globals, fast[0]))) return;
  // bin/sandbox runs exec from its own bundle (dist/exec.cjs); it comes here for what that leaves.
  if (fast[0] === 'exec' && (await execFromArgv(fast.slice(1), globals, imageOfRecord))) return;
  if (fast[0] === 'ps' && psFromArgv(fast.slice(1), globals)) return;
  if (argv[0] === '__complete') return (await import('./completion.js')).printCompletions(argv.slice(1));
  // What a sandbox's monitor runs at every health check interval.
  if (fast[0] === 'healthcheck' && (await healthcheckFromArgv(fast.slice(1), globals))) return;
  if (fast[0] === 'version' && fast.length === 1) return versionCommand.handler({ _: [], $0: 'sandbox' });
  const { runYargs } = await import('./yargs-cli.js');
  await runYargs(words);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.exitCode = reportError(err, () => storeDirOfArgv(process.argv.slice(2)));
});
