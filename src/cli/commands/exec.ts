/** `sandbox exec [OPTIONS] NAME COMMAND...` (the fast path, without yargs, is in ../exec-main.ts) */
import type { Argv, CommandModule } from 'yargs';
import type { GlobalArgs } from '../context.js';
import { EXEC_USAGE } from '../exec-options.js';
import { execFromArgv } from '../exec-main.js';
import type { ExecImageConfig } from '../../api/exec.js';
import { resolveRoot } from '../../api/run.js';
import type { StorePaths } from '../../state/paths.js';
import type { ContainerRecord } from '../../state/containers.js';

/** The image's part for exec, read from the image store: for records older than `imageConfig`. */
export function imageOfRecord(paths: StorePaths, record: ContainerRecord): ExecImageConfig {
  return resolveRoot(paths, record.imageId ? { ...record.request, image: record.imageId } : record.request).image;
}

let yargsOfExec: Argv | undefined;

export const execCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'exec',
  describe: 'Run a command in a running sandbox',
  builder: (y) => (yargsOfExec = y
    .parserConfiguration({ 'halt-at-non-option': true, 'populate--': true })
    .usage(`${EXEC_USAGE}\n\nRun a command in a running sandbox: its root, environment (plus -e), user (or -u), capabilities and namespaces. The exit status is the command's own.`)
    .option('interactive', { alias: 'i', type: 'boolean', describe: 'Keep stdin open' })
    .option('tty', { alias: 't', type: 'boolean', describe: 'Give the command a terminal' })
    .option('detach', { alias: 'd', type: 'boolean', describe: 'Run in the background' })
    .option('env', { alias: 'e', type: 'string', array: true, describe: 'Set a variable: K=V, or K to copy yours' })
    .option('env-file', { type: 'string', array: true, describe: 'Read K=V lines from a file' })
    .option('workdir', { alias: 'w', type: 'string', describe: 'Working directory inside (must exist)' })
    .option('user', { alias: 'u', type: 'string', describe: 'UID[:GID] or NAME[:GROUP]' })) as Argv<GlobalArgs>,
  handler: async (argv) => {
    const raw = Array.isArray((argv as { '--'?: unknown })['--']) ? ((argv as { '--'?: unknown[] })['--'] ?? []).map(String) : [];
    if (!(await execFromArgv(raw[0] === 'exec' ? raw.slice(1) : raw, argv, imageOfRecord))) yargsOfExec?.showHelp('log');
  },
};
