/**
 * The CLI: yargs only. argv -> options -> library call -> render. Each command lives in
 * its own module under ./commands and is registered here.
 */
import yargs from 'yargs';
import { formatError, SandboxError, EXIT_SANDBOX_ERROR } from '../errors.js';
import { commands } from './commands/index.js';

const debug = !!process.env.SANDBOX_DEBUG;

async function main(argv: string[]): Promise<void> {
  let cli = yargs(argv)
    .scriptName('sandbox')
    .usage('$0 <command> [options]\n\nRootless sandboxes and containers: no daemon, no setuid binary of ours.')
    .option('root', {
      type: 'string',
      global: true,
      describe: 'Keep all state under this directory (also SANDBOX_ROOT)',
    })
    .parserConfiguration({ 'halt-at-non-option': false, 'populate--': true })
    .strict()
    .demandCommand(1, 'sandbox: no command given\nhint: try `sandbox --help`')
    .recommendCommands()
    .help()
    .alias('help', 'h')
    .version(false)
    .wrap(Math.min(100, process.stdout.columns || 100))
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

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(formatError(err, debug));
  process.exitCode = err instanceof SandboxError ? err.exitCode : EXIT_SANDBOX_ERROR;
});
