/** `sandbox doctor [--format json]`: checks the host and prints the fix for each problem. */
import type { CommandModule } from 'yargs';
import type { DoctorReport } from '../../doctor/index.js';
import type { GlobalArgs } from '../context.js';

interface DoctorArgs extends GlobalArgs {
  format: 'table' | 'json';
}

const MARK = { ok: '✓', warn: '!', fail: '✗' } as const;

/** The human report: one line per check, `fix:` under warnings and failures, a verdict. */
export function formatDoctorReport(r: DoctorReport): string {
  const width = Math.max(...r.checks.map((c) => c.title.length));
  const lines: string[] = [];
  const who = `${r.user.name ?? 'uid'} (uid ${r.user.uid})`;
  lines.push(`sandbox doctor: checking this host for ${who}`);
  for (const note of r.notes) lines.push(`note: ${note}`);
  lines.push('');
  for (const c of r.checks) {
    lines.push(`${MARK[c.status]} ${c.title.padEnd(width)}  ${c.detail}`);
    if (c.status !== 'ok' && c.fix) lines.push(`  ${' '.repeat(width)}  fix: ${c.fix}`);
  }
  lines.push('');
  const warn = r.warnings ? ` (${r.warnings} warning${r.warnings === 1 ? '' : 's'})` : '';
  lines.push(
    r.canRun
      ? `sandbox can run: yes${warn}`
      : `sandbox can run: no: ${r.problems} problem${r.problems === 1 ? '' : 's'}${warn}`,
  );
  return lines.join('\n') + '\n';
}

export const doctorCommand: CommandModule<GlobalArgs, DoctorArgs> = {
  command: 'doctor',
  describe: 'Check that this host can run sandboxes, and print the fix for each problem',
  builder: (y) =>
    y.option('format', {
      choices: ['table', 'json'] as const,
      default: 'table' as const,
      describe: 'Output format',
    }),
  handler: async (args) => {
    // Loaded on demand: keeps the doctor out of every other command's start-up.
    const { runDoctor } = await import('../../doctor/index.js');
    const report = await runDoctor({ rootOverride: args.root });
    process.stdout.write(args.format === 'json' ? JSON.stringify(report, null, 2) + '\n' : formatDoctorReport(report));
    // 0: `run` can work (warnings allowed); 1: at least one failing check.
    process.exitCode = report.canRun ? 0 : 1;
  },
};
