/**
 * Podman's question before a command removes much (`prune`, `system reset`): the warning
 * on stdout, then `Are you sure you want to continue? [y/N] `, one line read from stdin.
 * `-f` skips it; an answer other than y/yes is a no (exit 0, nothing done); no answer at
 * all (stdin at its end, as in a script) is an error, as in Podman: a script must say -f.
 */
import { SandboxError } from '../errors.js';

/** One line of stdin, or undefined at its end before any newline. */
function readLine(): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let text = '';
    const stdin = process.stdin;
    const done = (value: string | undefined) => {
      stdin.off('data', onData).off('end', onEnd).off('error', reject);
      stdin.pause();
      resolve(value);
    };
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const nl = text.indexOf('\n');
      if (nl >= 0) done(text.slice(0, nl));
    };
    const onEnd = () => done(text ? text : undefined);
    stdin.on('data', onData).on('end', onEnd).on('error', reject);
    stdin.resume();
  });
}

/** True when the user said yes (or `force`); false for a no; throws when stdin gives no answer. */
export async function confirm(warning: string, force: boolean | undefined): Promise<boolean> {
  if (force) return true;
  process.stdout.write(`${warning}\nAre you sure you want to continue? [y/N] `);
  const answer = await readLine();
  if (answer === undefined) {
    process.stdout.write('\n');
    throw new SandboxError('no answer to the question: standard input ended', { hint: 'pass -f (--force) to go ahead without asking' });
  }
  return /^\s*y(es)?\s*$/i.test(answer);
}
