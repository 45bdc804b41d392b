/**
 * Options spelled `--no-X` (Podman's `--no-trunc`). yargs reads such a word as the
 * negation of an option `X` (X=false), which strict mode then refuses as unknown: so
 * `X` is declared too, hidden, and its negation is taken as `--no-X`.
 */
import type { Argv } from 'yargs';

export function declareNoOption<T>(y: Argv<T>, name: string, describe: string): Argv<T> {
  const noName = `no-${name}`;
  return y
    .option(noName, { type: 'boolean', describe })
    .option(name, { type: 'boolean', hidden: true })
    .middleware((argv: Record<string, unknown>) => {
      if (argv[name] === false) argv[noName] = true;
    }, true) as unknown as Argv<T>;
}
