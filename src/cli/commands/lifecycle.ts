/** `stop`, `kill`, `start`, `restart`, `wait`, `rename`, `rm`, `inspect`: sandboxes recorded in the store. */
import { seccompProfileShown } from '../../runtime/seccomp/sandbox-filter.js';
import { sandboxEndpoints } from '../../api/networks.js';
import type { Argv, CommandModule } from 'yargs';
import { inspectImage } from '../../api/images.js';
import { sandboxImageFields } from '../../images/store.js';
import { printInspected } from '../format.js';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { allOption, eachTarget, ignoreOption, targetNames, type TargetArgs } from '../bulk-targets.js';
import {
  inspectSandbox, killSandbox, listSandboxes, removeSandbox, renameSandbox, restartSandbox, startSandbox, stopSandbox,
  waitSandbox,
} from '../../api/lifecycle.js';
import { parseSignal } from '../../runtime/signals.js';
import { attachOutput } from './logs.js';
import { eventTime } from '../../state/events.js';
import { SandboxError } from '../../errors.js';
import { oomFilePath, readRestartCount, sandboxLogFile } from '../../state/sandbox-dir.js';
import { existsSync } from 'node:fs';
import { inspectCapabilities, inspectHostConfig, inspectMounts, inspectNetworkSettings } from '../inspect-fields.js';
import { currentHealth, inspectHealth, inspectHealthcheck } from '../../state/health.js';
import { DEFAULT_STOP_TIMEOUT } from '../../api/lifecycle.js';
import { statusWord } from '../../state/status.js';
import type { RunRequest } from '../../types.js';

/** inspect's HostConfig.LogConfig, as Podman shows it. */
function logConfig(request: RunRequest): { Type: string; Path: string; Size: string } {
  return { Type: request.logDriver ?? 'k8s-file', Path: request.logPath ?? '', Size: request.logMaxSize ? `${request.logMaxSize}B` : '0B' };
}
import { attachOptions, type AttachFlags } from './attach.js';
import { attachSandbox } from '../../api/attach.js';
import { findSandbox } from '../../state/sandboxes.js';
import { parseDetachKeys } from '../../runtime/detach-keys.js';

interface ManyArgs extends GlobalArgs {
  names: string[];
}

/**
 * Runs `action` for each named sandbox, printing its name as Docker does; one failure does
 * not stop the rest; with `ignoreMissing` (--ignore) a sandbox that is not there is no error.
 */
export async function eachSandbox(names: string[], action: (name: string) => Promise<unknown>, options: { ignoreMissing?: boolean } = {}): Promise<void> {
  await eachTarget(names, 'sandboxes', async (n) => { await action(n); return n; }, options);
}

/** The sandboxes named, or with --all the ids of every one (`running`: only those running), as Podman's -a. */
function sandboxTargets(command: string, argv: GlobalArgs & TargetArgs, running: boolean): string[] {
  return targetNames(command, argv, () => listSandboxes(storePathsFromArgs(argv), { all: !running }).map((v) => v.record.id));
}

export const stopCommand: CommandModule<GlobalArgs, GlobalArgs & TargetArgs & { time?: number }> = {
  command: 'stop [names..]',
  describe: 'Stop sandboxes: the stop signal, then SIGKILL after --time seconds',
  builder: (y) => ignoreOption(allOption(y
    .positional('names', { type: 'string', array: true })
    .option('time', { alias: ['t', 'timeout'], type: 'number', describe: "Seconds to wait before SIGKILL (default: the sandbox's --stop-timeout, else 10)" }),
  'Stop every running sandbox'), 'sandbox') as Argv<GlobalArgs & TargetArgs & { time?: number }>,
  handler: async (argv) => {
    const paths = storePathsFromArgs(argv);
    await eachSandbox(sandboxTargets('stop', argv, true), (n) => stopSandbox(paths, n, argv.time), { ignoreMissing: !!argv.ignore });
  },
};

export const killCommand: CommandModule<GlobalArgs, GlobalArgs & TargetArgs & { signal: string }> = {
  command: 'kill [names..]',
  describe: 'Send a signal to sandboxes (default SIGKILL)',
  builder: (y) => allOption(y
    .positional('names', { type: 'string', array: true })
    .option('signal', { alias: 's', type: 'string', default: 'KILL', describe: 'Signal name or number' }), 'Signal every running sandbox') as Argv<GlobalArgs & TargetArgs & { signal: string }>,
  handler: async (argv) => {
    const paths = storePathsFromArgs(argv);
    const sig = parseSignal(argv.signal);
    await eachSandbox(sandboxTargets('kill', argv, true), async (n) => killSandbox(paths, n, sig));
  },
};

export const startCommand: CommandModule<GlobalArgs, ManyArgs & AttachFlags & { attach?: boolean; interactive?: boolean }> = {
  command: 'start <names..>',
  describe: 'Start stopped sandboxes again (same writable layer, same configuration)',
  builder: (y) => attachOptions(y
    .positional('names', { type: 'string', array: true, demandOption: true })
    .option('attach', { alias: 'a', type: 'boolean', describe: "Print the sandbox's output until it ends; exit with its status" })
    .option('interactive', { alias: 'i', type: 'boolean', describe: 'With -a: attach stdin too (as `sandbox attach`)' })),
  handler: async (argv) => {
    const paths = storePathsFromArgs(argv);
    if (!argv.attach) {
      await eachSandbox(argv.names, (n) => startSandbox(paths, n));
      return;
    }
    if (argv.names.length !== 1) throw new SandboxError('start -a takes one sandbox', { hint: 'start the others without -a' });
    // -i joins stdin only where the sandbox keeps one (created with -i); otherwise, as
    // Podman, -ai is -a: its output from the start (a command that ends at once included).
    if (argv.interactive && findSandbox(paths, argv.names[0]!).request.interactive) {
      // Joined through the attach socket, as `sandbox attach`: the input goes in, the detach keys work.
      const detachKeys = parseDetachKeys(argv['detach-keys']);
      const record = await startSandbox(paths, argv.names[0]!);
      process.exitCode = await attachSandbox(paths, record.id, { detachKeys, sigProxy: argv['sig-proxy'] });
      return;
    }
    const since = eventTime();
    const record = await startSandbox(paths, argv.names[0]!);
    await attachOutput(paths, record.id, since);
    process.exitCode = await waitSandbox(paths, record.id);
  },
};

export const rmCommand: CommandModule<GlobalArgs, GlobalArgs & TargetArgs & { force?: boolean; volumes?: boolean; time?: number }> = {
  command: 'rm [names..]',
  describe: 'Remove sandboxes (-f: running ones too)',
  builder: (y) => ignoreOption(allOption(y
    .positional('names', { type: 'string', array: true })
    .option('force', { alias: 'f', type: 'boolean', describe: 'Stop running sandboxes first (the stop signal, SIGKILL after --time); a missing one is no error' })
    .option('time', { alias: 't', type: 'number', describe: "With -f: seconds to wait before SIGKILL (default: the sandbox's --stop-timeout, else 10)" })
    .option('volumes', { alias: 'v', type: 'boolean', describe: 'Remove their anonymous volumes too' }), 'Remove every sandbox (running ones only with -f)'), 'sandbox') as Argv<GlobalArgs & TargetArgs & { force?: boolean; volumes?: boolean; time?: number }>,
  handler: async (argv) => {
    const paths = storePathsFromArgs(argv);
    // As Podman: -f passes over a missing sandbox as --ignore does.
    await eachSandbox(sandboxTargets('rm', argv, false), (n) => removeSandbox(paths, n, { force: !!argv.force, volumes: !!argv.volumes, ...(argv.time !== undefined ? { time: argv.time } : {}) }),
      { ignoreMissing: !!argv.ignore || !!argv.force });
  },
};

export const inspectCommand: CommandModule<GlobalArgs, ManyArgs> = {
  command: 'inspect <names..>',
  describe: 'Show sandboxes (or images) as JSON (shaped like Docker\'s)',
  builder: (y) => y
    .positional('names', { type: 'string', array: true, demandOption: true })
    .option('type', { type: 'string', choices: ['container', 'sandbox', 'image', 'all'], default: 'all', describe: 'What the names are (default: a sandbox, else an image)' })
    .option('format', { alias: 'f', type: 'string', describe: "json, or a template: '{{.State.Status}} {{.State.Pid}}'" }),
  handler: (argv) => {
    const paths = storePathsFromArgs(argv);
    const type = (argv as { type?: string }).type ?? 'all';
    const out = argv.names.map((n) => {
      // As `podman inspect`: a sandbox by that name first, else an image.
      if (type === 'image') return inspectImage(paths, n);
      let view;
      try {
        view = inspectSandbox(paths, n);
      } catch (err) {
        if (type !== 'all') throw err;
        try { return inspectImage(paths, n); } catch { throw err; }
      }
      const { record: r, state: s } = view;
      const image = sandboxImageFields(paths, r);
      return {
        Id: r.id, Name: r.name, Created: r.created, Path: r.command[0], Args: r.command.slice(1),
        State: {
          Status: statusWord(s), Running: s.status === 'running' && !s.paused, Paused: !!s.paused, Pid: s.status === 'running' ? s.pid ?? 0 : 0,
          OOMKilled: s.status !== 'running' && r.cgroup !== undefined && existsSync(oomFilePath(paths, r.id)),
          ExitCode: s.exitCode ?? 0, Error: s.error ?? '', StartedAt: s.startedAt ?? '', FinishedAt: s.finishedAt ?? '',
          Health: inspectHealth(currentHealth(paths, r)),
        },
        RestartCount: readRestartCount(paths, r.id),
        ...image,
        Config: {
          Image: image.ImageName, Cmd: r.request.command, Entrypoint: r.request.entrypoint ?? null, Env: Object.entries(r.request.env).map(([k, v]) => `${k}=${v}`),
          Labels: r.request.labels, WorkingDir: r.request.workdir ?? '', User: r.request.user ?? '', Hostname: r.hostname,
          Annotations: r.request.annotations ?? {},
          StopSignal: r.request.stopSignal ?? 15, StopTimeout: r.request.stopTimeout ?? DEFAULT_STOP_TIMEOUT,
          ...(r.request.healthcheck ? { Healthcheck: inspectHealthcheck(r.request.healthcheck), HealthcheckOnFailureAction: 'none' } : {}),
        },
        HostConfig: { ...inspectHostConfig(r), LogConfig: logConfig(r.request) },
        ...inspectCapabilities(r),
        Mounts: inspectMounts(r.request),
        NetworkSettings: inspectNetworkSettings(r, s, r.request.network === 'bridge' ? sandboxEndpoints(paths, r) : []),
        // No SELinux or AppArmor labelling here (--security-opt label=... is accepted and changes nothing).
        ProcessLabel: '', MountLabel: '', AppArmorProfile: '',
        // The command's seccomp profile: `default` (runtime/seccomp/default-profile.ts), a file's path, or `unconfined`.
        SeccompProfilePath: seccompProfileShown(r.request),
        GraphDriver: { Name: 'overlay', Data: { UpperDir: `${paths.data}/containers/${r.id}/upper`, WorkDir: `${paths.data}/containers/${r.id}/work` } },
        LogPath: sandboxLogFile(paths, r) ?? '',
        Pod: r.request.pod ?? '',
      };
    });
    printInspected(out, (argv as { format?: string }).format);
  },
};

export const restartCommand: CommandModule<GlobalArgs, GlobalArgs & TargetArgs & { time?: number }> = {
  command: 'restart [names..]',
  describe: 'Stop (if running) and start sandboxes again',
  builder: (y) => allOption(y
    .positional('names', { type: 'string', array: true })
    .option('time', { alias: 't', type: 'number', describe: "Seconds to wait before SIGKILL (default: the sandbox's --stop-timeout, else 10)" }), 'Restart every sandbox') as Argv<GlobalArgs & TargetArgs & { time?: number }>,
  handler: async (argv) => {
    const paths = storePathsFromArgs(argv);
    await eachSandbox(sandboxTargets('restart', argv, false), (n) => restartSandbox(paths, n, argv.time));
  },
};

export const waitCommand: CommandModule<GlobalArgs, ManyArgs> = {
  command: 'wait <names..>',
  describe: 'Wait for sandboxes to end; print their exit codes',
  builder: (y) => y.positional('names', { type: 'string', array: true, demandOption: true }),
  handler: async (argv) => {
    const paths = storePathsFromArgs(argv);
    for (const n of argv.names) process.stdout.write(`${await waitSandbox(paths, n)}\n`);
  },
};

export const renameCommand: CommandModule<GlobalArgs, GlobalArgs & { name: string; newName: string }> = {
  command: 'rename <name> <newName>',
  describe: 'Rename a sandbox',
  builder: (y) => y
    .positional('name', { type: 'string', demandOption: true })
    .positional('newName', { type: 'string', demandOption: true }),
  handler: async (argv) => {
    await renameSandbox(storePathsFromArgs(argv), argv.name, argv.newName);
  },
};
