/** `pause` and `unpause` (and `container pause|unpause`): the cgroup freezer of sandboxes (api/pause.ts). */
import type { CommandModule } from 'yargs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { SandboxError } from '../../errors.js';
import { listSandboxes } from '../../api/lifecycle.js';
import { pauseSandbox, unpauseSandbox } from '../../api/pause.js';
import { eachSandbox } from './lifecycle.js';

interface PauseArgs extends GlobalArgs {
  names?: string[];
  all?: boolean;
}

/** The names given, or with --all those in the state the verb acts on (running, or paused), as Podman's -a. */
function targets(argv: PauseArgs, verb: 'pause' | 'unpause'): string[] | undefined {
  const names = argv.names ?? [];
  if (argv.all && names.length) throw new SandboxError(`${verb} takes --all or names, not both`, { hint: `sandbox ${verb} --all, or sandbox ${verb} NAME...` });
  if (!argv.all) {
    if (!names.length) throw new SandboxError(`${verb} needs at least one sandbox`, { hint: `sandbox ${verb} NAME..., or --all` });
    return names;
  }
  const paths = storePathsFromArgs(argv);
  const wanted = listSandboxes(paths).filter((v) => (verb === 'pause' ? !v.state.paused : !!v.state.paused));
  return wanted.length ? wanted.map((v) => v.record.name) : undefined;
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
      if (!names) return;
      const paths = storePathsFromArgs(argv);
      await eachSandbox(names, async (n) => (verb === 'pause' ? pauseSandbox(paths, n) : unpauseSandbox(paths, n)));
    },
  };
}

export const pauseCommand = freezerCommand('pause');
export const unpauseCommand = freezerCommand('unpause');
