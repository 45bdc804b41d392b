/** `sandbox unshare [COMMAND...]`, `sandbox mount [NAME...]`, `sandbox unmount|umount NAME...`: as Podman's, rootless. */
import type { Argv, CommandModule } from 'yargs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { rawArgsAfterCommand } from '../argv-lexer.js';
import { runUnshared } from '../../api/unshare.js';
import { mountSandbox, mountedSandboxes, unmountSandbox } from '../../api/mount.js';

let yargsOfUnshare: Argv | undefined;

export const unshareCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'unshare',
  describe: "A shell (or COMMAND) as root of the sandboxes' user namespace (your uid as 0, your subuid range from 1): to fix file owners; `sandbox mount` works there",
  // The words after `unshare` are the command's, untouched (as exec's, argv-lexer.ts).
  builder: (y) => (yargsOfUnshare = y.usage('sandbox unshare [COMMAND [ARG...]]\n\nA shell ($SHELL, else /bin/sh) or COMMAND as root of a new user namespace with the sandboxes\' id mapping and a mount namespace of its own, as `podman unshare`. SANDBOX_STORE is the store\'s data directory there.')
    .parserConfiguration({ 'halt-at-non-option': true, 'populate--': true, 'parse-positional-numbers': false })) as Argv<GlobalArgs>,
  handler: async (argv) => {
    const words = rawArgsAfterCommand(argv as { '--'?: unknown }, 'unshare');
    if (words[0] === '--help' || words[0] === '-h') { yargsOfUnshare?.showHelp('log'); return; }
    if (words[0] === '--') words.shift();
    process.exitCode = await runUnshared(storePathsFromArgs(argv), words);
  },
};

export const mountCommand: CommandModule<GlobalArgs, GlobalArgs & { names?: string[] }> = {
  command: 'mount [names..]',
  describe: "Mount sandboxes' roots and print where (inside `sandbox unshare`); without a name, list what is mounted",
  builder: (y) => y.positional('names', { type: 'string', array: true }),
  handler: async (argv) => {
    const paths = storePathsFromArgs(argv);
    if (!argv.names?.length) {
      process.stdout.write(mountedSandboxes(paths).map((m) => `${m.id.slice(0, 12)}  ${m.path}\n`).join(''));
      return;
    }
    for (const n of argv.names) process.stdout.write(`${await mountSandbox(paths, n)}\n`);
  },
};

export const unmountCommand: CommandModule<GlobalArgs, GlobalArgs & { names: string[] }> = {
  command: 'unmount <names..>',
  aliases: ['umount'],
  describe: 'Unmount what `sandbox mount` mounted (inside `sandbox unshare`)',
  builder: (y) => y.positional('names', { type: 'string', array: true, demandOption: true }),
  handler: async (argv) => {
    const paths = storePathsFromArgs(argv);
    for (const n of argv.names) {
      await unmountSandbox(paths, n);
      process.stdout.write(`${n}\n`);
    }
  },
};
