/**
 * The full CLI: yargs. argv -> options -> library call -> render. Each command lives in
 * its own module under ./commands and is registered there. Loaded by main.ts only
 * when its fast path does not apply (yargs costs ~15 ms of start-up).
 */
import yargs from 'yargs';
import { SandboxError } from '../errors.js';
import { commands } from './commands/index.js';

export async function runYargs(argv: string[]): Promise<void> {
  let cli = yargs(argv)
    .scriptName('sandbox')
    .usage('$0 <command> [options]\n\nRootless sandboxes and containers: no daemon, no setuid binary of ours.')
    .option('root', {
      type: 'string',
      global: true,
      describe: 'Keep all state under this directory (also SANDBOX_ROOT)',
    })
    // Repeatable options take one value each (-c A -c B), as in Docker: never the positionals after them.
    .parserConfiguration({ 'halt-at-non-option': false, 'populate--': true, 'greedy-arrays': false })
    .strict()
    .demandCommand(1, 'sandbox: no command given\nhint: try `sandbox --help`')
    .recommendCommands()
    .help()
    .alias('help', 'h')
    .version(false)
    .wrap(Math.min(120, process.stdout.columns || 120))
    .fail((msg, err) => {
      if (err) throw err;
      // yargs validation failures (unknown option, missing argument): our error, exit 125.
      throw new SandboxError(msg.replace(/^sandbox: /, '').split('\n')[0] ?? msg, {
        hint: msg.includes('\nhint:') ? msg.split('\nhint: ')[1] : 'see `sandbox --help` or `sandbox COMMAND --help`',
      });
    });
  for (const command of commands) cli = cli.command(command);
  await cli.parseAsync();
}
