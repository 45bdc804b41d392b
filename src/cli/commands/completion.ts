/** `sandbox completion bash|zsh|fish`: the shell script (src/cli/completion.ts has the logic). */
import type { Argv, CommandModule } from 'yargs';
import type { GlobalArgs } from '../context.js';

interface CompletionArgs extends GlobalArgs {
  shell: string;
}

export const completionCommand: CommandModule<GlobalArgs, CompletionArgs> = {
  command: 'completion <shell>',
  describe: 'Print a completion script for bash, zsh or fish',
  builder: (y) => y.positional('shell', { type: 'string', choices: ['bash', 'zsh', 'fish'], demandOption: true }) as Argv<CompletionArgs>,
  handler: async (argv) => {
    // Loaded here: it imports the command registry, which imports this module.
    const { completionScript } = await import('../completion.js');
    process.stdout.write(completionScript(argv.shell));
  },
};
