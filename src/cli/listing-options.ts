/**
 * Options every listing shares with Podman's: `--noheading` (`-n` too where Podman gives it
 * that letter: images; on `ps` Podman's `-n` is --last). The table renderers (format.ts)
 * take the flag; this is the one place that declares it.
 */
import type { Argv } from 'yargs';

export interface NoHeadingArgs {
  noheading?: boolean;
}

export function declareNoHeading<T>(y: Argv<T>, short?: 'n'): Argv<T & NoHeadingArgs> {
  return y.option('noheading', {
    type: 'boolean',
    ...(short ? { alias: short } : {}),
    describe: 'Do not print the header line (of a table, or of a `table TEMPLATE` format)',
  }) as Argv<T & NoHeadingArgs>;
}
