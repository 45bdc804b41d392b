/** `pause` and `unpause` (and `container pause|unpause`): the cgroup freezer of sandboxes (api/pause.ts). */
import type { CommandModule } from 'yargs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { targetNames } from '../bulk-targets.js';
import { listSandboxes } from '../../api/lifecycle.js';
import { pauseSandbox, unpauseSandbox } from '../../api/pause.js';
import { eachSandbox } from './lifecycle.js';

interface PauseArgs extends GlobalArgs {
  names?: string[];
  all?: boolean;
}

/** The names given, or with --all those in the state the verb acts on (running, or paused), as Podman's -a. */
function targets(argv: PauseArgs, verb: 'pause' | 'unpause'): string[] {
  return targetNames(verb, argv, () => listSandboxes(storePathsFromArgs(argv))
    .filter((v) => (verb === 'pause' ? !v.state.paused : !!v.state.paused)).map((v) => v.record.name));
}

function freezerCommand(verb: 'pause' | 'unpause'): CommandModule<GlobalArgs, PauseArgs> {
  return {
    command: `${verb} [names..]`,
    describe: verb === 'pause' ? 'Freeze every process of running sandboxes (cgroup freezer)' : 'Let paused sandboxes run again',
    builder: (y) => y
      .positional('names', { type: 'string', array: true })
      .option('all', { alias: 'a', type: 'boolean', describe: verb === 'pause' ? 'Pause every running sandbox' : 'Unpause every paused sandbox' }),
    handler: async (argv) => {
      const names = targets(argv, verb);
      const paths = storePathsFromArgs(argv);
      await eachSandbox(names, async (n) => (verb === 'pause' ? pauseSandbox(paths, n) : unpauseSandbox(paths, n)));
    },
  };
}

export const pauseCommand = freezerCommand('pause');
export const unpauseCommand = freezerCommand('unpause');
