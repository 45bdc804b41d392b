/** `sandbox exec [OPTIONS] NAME COMMAND...` (the fast path, without yargs, is in ../exec-main.ts) */
import type { Argv, CommandModule } from 'yargs';
import type { GlobalArgs } from '../context.js';
import { EXEC_TABLE, EXEC_USAGE } from '../exec-options.js';
import { declareOptions, rawArgsAfterCommand } from '../argv-lexer.js';
import { execFromArgv } from '../exec-main.js';
import type { ExecImageConfig } from '../../api/exec.js';
import { resolveRoot } from '../../api/run.js';
import type { StorePaths } from '../../state/paths.js';
import type { SandboxRecord } from '../../state/sandboxes.js';

/** The image's part for exec, read from the image store: for records older than `imageConfig`. */
export function imageOfRecord(paths: StorePaths, record: SandboxRecord): ExecImageConfig {
  return resolveRoot(paths, record.imageId ? { ...record.request, image: record.imageId } : record.request).image;
}

let yargsOfExec: Argv | undefined;

export const execCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'exec',
  describe: 'Run a command in a running sandbox',
  builder: (y) => (yargsOfExec = declareOptions(y, EXEC_TABLE)
    .usage(`${EXEC_USAGE}\n\nRun a command in a running sandbox: its root, environment (plus -e), user (or -u), capabilities and namespaces. The exit status is the command's own.`)) as Argv<GlobalArgs>,
  handler: async (argv) => {
    if (!(await execFromArgv(rawArgsAfterCommand(argv, 'exec'), argv, imageOfRecord))) yargsOfExec?.showHelp('log');
  },
};
