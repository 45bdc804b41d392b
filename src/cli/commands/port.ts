/**
 * `sandbox port NAME [PORT[/PROTO]]`, `port -a`, `port -l` (also `container port`): the
 * published ports of running sandboxes, as `podman port` prints them (a sandbox that is
 * not running shows none, exit 0, as Podman's; inspect's HostConfig.PortBindings has the
 * host ports it gets when it starts, chosen when it was created).
 */
import type { Argv, CommandModule } from 'yargs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { inspectSandbox, listSandboxes } from '../../api/lifecycle.js';
import { SandboxError } from '../../errors.js';
import { formatPortLines, parsePortQuery } from '../../network/port-spec.js';

interface PortArgs extends GlobalArgs {
  name?: string;
  port?: string;
  all?: boolean;
  latest?: boolean;
}

export const portCommand: CommandModule<GlobalArgs, PortArgs> = {
  command: 'port [name] [port]',
  describe: "List a sandbox's published ports, or where one of its ports is published",
  builder: (y) => y
    .positional('name', { type: 'string', describe: 'The sandbox (not with -a or -l)' })
    .positional('port', { type: 'string', describe: 'A container port: PORT[/tcp|/udp]' })
    .option('all', { alias: 'a', type: 'boolean', describe: 'Every running sandbox' })
    .option('latest', { alias: 'l', type: 'boolean', describe: 'The most recently created sandbox' }) as Argv<PortArgs>,
  handler: (argv) => {
    const paths = storePathsFromArgs(argv);
    const usage = 'sandbox port NAME [PORT[/PROTO]], sandbox port -l [PORT], or sandbox port -a';
    if (argv.all) {
      if (argv.name !== undefined || argv.latest) throw new SandboxError('--all takes no sandbox and no port', { hint: usage });
      const lines = listSandboxes(paths).flatMap((v) => formatPortLines(v.record.request.ports ?? []).map((l) => `${v.record.id.slice(0, 12)}\t${l}`));
      process.stdout.write(lines.map((l) => `${l}\n`).join(''));
      return;
    }
    let name = argv.name;
    let portText = argv.port;
    if (argv.latest) {
      if (portText !== undefined) throw new SandboxError('--latest takes no sandbox', { hint: usage });
      portText = name;
      const latest = listSandboxes(paths, { all: true })[0];
      if (!latest) throw new SandboxError('no sandbox to show the ports of', { hint: 'create one first: sandbox run -d -p 8080:80 IMAGE' });
      name = latest.record.id;
    }
    if (name === undefined) throw new SandboxError('port needs a sandbox, --latest or --all', { hint: usage });
    const { record, state } = inspectSandbox(paths, name);
    if (state.status !== 'running') return;
    const ports = record.request.ports ?? [];
    const query = portText === undefined ? undefined : parsePortQuery(portText);
    const lines = formatPortLines(ports, query);
    if (query && !lines.length) {
      throw new SandboxError(`failed to find published port "${portText}"`, { hint: `its published ports: sandbox port ${name}` });
    }
    process.stdout.write(lines.map((l) => `${l}\n`).join(''));
  },
};
