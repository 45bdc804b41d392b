/**
 * `sandbox version`, shaped as `podman version` (scripts read its `Version:` line, or
 * `--format '{{.Client.Version}}'`; `{{.Server.Version}}` is the same program here: there
 * is no service). main.ts answers a bare `version` on its fast path.
 */
import type { Argv, CommandModule } from 'yargs';
import type { GlobalArgs } from '../context.js';
import { versionInfo, type VersionInfo } from '../../api/version.js';
import { printInspected } from '../format.js';

interface VersionArgs extends GlobalArgs {
  format?: string;
}

/** Podman's lines: a label column 14 wide, then the value. */
export function versionText(v: VersionInfo): string {
  const rows: [string, string][] = [
    ['Client:', 'sandbox'], ['Version:', v.Version], ['API Version:', v.APIVersion], ['Node Version:', v.NodeVersion], ['OS/Arch:', v.OsArch],
  ];
  return rows.map(([k, val]) => `${k.padEnd(14)}${val}\n`).join('');
}

export const versionCommand: CommandModule<GlobalArgs, VersionArgs> = {
  command: 'version',
  describe: 'Print the version (Podman\'s lines; --format json or \'{{.Client.Version}}\')',
  builder: (y) => y.option('format', { alias: 'f', type: 'string', describe: "json, or a template: '{{.Client.Version}}'" }) as Argv<VersionArgs>,
  handler: (argv) => {
    const info = versionInfo();
    if (argv.format === undefined) return void process.stdout.write(versionText(info));
    if (argv.format === 'json') return void process.stdout.write(`${JSON.stringify({ Client: info }, null, 2)}\n`);
    printInspected([{ ...info, Client: info, Server: info }], argv.format);
  },
};
