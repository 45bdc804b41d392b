/**
 * Entry point of the CLI. Start-up is paid by every Makefile line, so the commonest
 * commands, `run`, `exec` and `ps`, go straight to their handlers (their options are parsed
 * by our own tables in run-option-table.ts and exec-options.ts anyway); everything else,
 * and their --help, loads the full yargs CLI.
 */
import { reportError } from '../errors.js';
import { storeDirOfArgv, type GlobalArgs } from './context.js';
import { runFromArgv } from './commands/run.js';
import { execFromArgv } from './exec-main.js';
import { imageOfRecord } from './commands/exec.js';
import { psFromArgv } from './commands/ps.js';
import { healthcheckFromArgv } from './commands/healthcheck.js';
import { versionCommand } from './commands/version.js';
import { fastVerbWords } from './fast-verbs.js';

/** Where the command word is: after the global `--root DIR` / `--root=DIR` that may come first. */
function commandAt(argv: readonly string[]): { at: number; globals: GlobalArgs } {
  const globals: GlobalArgs = {};
  let at = 0;
  for (;;) {
    const w = argv[at];
    if (w === '--root' && at + 1 < argv.length) {
      globals.root = argv[at + 1];
      at += 2;
    } else if (w?.startsWith('--root=')) {
      globals.root = w.slice('--root='.length);
      at += 1;
    } else {
      return { at, globals };
    }
  }
}

async function main(argv: string[]): Promise<void> {
  // run and create read their own words (-h is --hostname there, as in Podman): yargs only renders their help.
  // `container run|create|exec|ls` are the top-level verbs (fast-verbs.ts), after a global --root.
  const { at, globals } = commandAt(argv);
  const fast = fastVerbWords(argv.slice(at));
  if ((fast[0] === 'run' || fast[0] === 'create') && (await runFromArgv(fast.slice(1), globals, fast[0]))) return;
  // bin/sandbox runs exec from its own bundle (dist/exec.cjs); it comes here for what that leaves.
  if (fast[0] === 'exec' && (await execFromArgv(fast.slice(1), globals, imageOfRecord))) return;
  if (at === 0 && fast[0] === 'ps' && psFromArgv(fast.slice(1))) return; // its fast path reads no --root
  if (argv[0] === '__complete') return (await import('./completion.js')).printCompletions(argv.slice(1));
  // What a sandbox's monitor runs at every health check interval.
  if (argv[0] === 'healthcheck' && (await healthcheckFromArgv(argv.slice(1)))) return;
  if (argv[0] === 'version' && argv.length === 1) return versionCommand.handler({ _: [], $0: 'sandbox' });
  const { runYargs } = await import('./yargs-cli.js');
  await runYargs(argv);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.exitCode = reportError(err, () => storeDirOfArgv(process.argv.slice(2)));
});
