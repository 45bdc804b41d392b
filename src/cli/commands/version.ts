/** `sandbox version`: listed for --help; main.ts answers it on its fast path. */
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../context.js';

export const versionCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'version',
  describe: 'Print the version',
  handler: () => {
    process.stdout.write(`sandbox ${typeof __SANDBOX_VERSION__ === 'string' ? __SANDBOX_VERSION__ : 'dev'} (node ${process.version})\n`);
  },
};

declare const __SANDBOX_VERSION__: string;
