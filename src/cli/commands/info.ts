/**
 * `sandbox info` (and `system info`): the host and the store as `podman info` shows them:
 * YAML by default, `--format json` (Podman's JSON keys), or a Go template over Podman's
 * field names ('{{.Host.Arch}}', '{{.Store.GraphRoot}}'). README "sandbox info" lists
 * the structure.
 */
import type { Argv, CommandModule } from 'yargs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { checkFormat, printInspected } from '../format.js';

/** Podman's Go field names where they are not the JSON key with a capital. */
const GO_NAMES: Record<string, string> = {
  idMappings: 'IDMappings', uidmap: 'UIDMap', gidmap: 'GIDMap', container_id: 'ContainerID', host_id: 'HostID',
  ociRuntime: 'OCIRuntime', os: 'OS', slirp4netns: 'Slirp4NetNS', cpus: 'CPUs', cgroupVersion: 'CgroupsVersion',
  apparmorEnabled: 'AppArmorEnabled', selinuxEnabled: 'SELinuxEnabled', seccompEnabled: 'SECCOMPEnabled',
  capabilities: 'DefaultCapabilities',
};

/** The same value with Go's field names, for templates. Pure. */
export function withGoNames(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withGoNames);
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [GO_NAMES[k] ?? k[0]!.toUpperCase() + k.slice(1), withGoNames(x)]));
}

/** A YAML scalar: strings quoted when YAML would read them otherwise. */
function scalar(v: unknown): string {
  if (typeof v !== 'string') return String(v);
  if (v === '' || /^[\s]|[\s]$|^[-?:,[\]{}#&*!|>'"%@`]|: | #|^(true|false|null|yes|no|~)$|^[0-9.+-]/i.test(v) || v.includes('\n')) {
    return JSON.stringify(v);
  }
  return v;
}

/** Podman's `info` text: YAML, keys sorted within each map, list items at their key's indent, as Podman prints them. Pure. */
export function toYaml(v: unknown, indent = ''): string {
  if (Array.isArray(v)) {
    if (!v.length) return ' []\n';
    return '\n' + v.map((x) => {
      if (x && typeof x === 'object' && !Array.isArray(x)) {
        const body = toYaml(x, `${indent}  `).replace(/^\n/, '');
        return `${indent}- ${body.slice(indent.length + 2)}`;
      }
      return `${indent}- ${scalar(x)}\n`;
    }).join('');
  }
  if (v && typeof v === 'object') {
    const entries = Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (!entries.length) return ' {}\n';
    return '\n' + entries.map(([k, x]) => `${indent}${k}:${Array.isArray(x) ? toYaml(x, indent) : x && typeof x === 'object' ? toYaml(x, `${indent}  `) : ` ${scalar(x)}\n`}`).join('');
  }
  return ` ${scalar(v)}\n`;
}

interface InfoArgs extends GlobalArgs {
  format?: string;
}

export const infoCommand: CommandModule<GlobalArgs, InfoArgs> = {
  command: 'info',
  describe: 'Show the host and the store, as `podman info`',
  builder: (y) => y.option('format', { alias: 'f', type: 'string', describe: "json, or a template: '{{.Host.Arch}} {{.Store.GraphRoot}}'" }) as Argv<InfoArgs>,
  handler: async (argv) => {
    if (argv.format && argv.format !== 'json') checkFormat(argv.format);
    const { systemInfo } = await import('../../api/info.js');
    const info = await systemInfo(storePathsFromArgs(argv));
    if (argv.format === 'json') {
      process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
      return;
    }
    if (argv.format) {
      printInspected([withGoNames(info)], argv.format);
      return;
    }
    process.stdout.write(toYaml(info).replace(/^\n/, ''));
  },
};
