/**
 * Issue 14, item 4: `--help` of every command, at terminal widths 40, 80 and 200 (COLUMNS),
 * wraps between words only: every word it prints is a word of the same help unwrapped
 * (COLUMNS very wide), so a word cut in two ("fro" / "m") shows up as a word that does not
 * exist. Lines stay within the width unless one word alone is wider than its column, and
 * wrapping adds no blank lines.
 * Without a terminal and COLUMNS, help is 80 columns wide.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requireTestUser, runSandbox, show } from './harness.js';

const WIDE = '2000'; // wider than any help line: nothing wraps (cliui pads to the width, so not much wider)

async function help(path: string[], columns?: string): Promise<string> {
  const r = await runSandbox([...path, '--help'], columns ? { env: { COLUMNS: columns } } : {});
  assert.equal(r.code, 0, `sandbox ${path.join(' ')} --help\n${show(r)}`);
  return r.stdout;
}

/** The subcommands a help lists under "Commands:" (`sandbox image ls ...` under `image`). */
function subcommands(path: string[], text: string): string[][] {
  const out: string[][] = [];
  const prefix = ['sandbox', ...path].join(' ');
  let inCommands = false;
  for (const line of text.split('\n')) {
    if (/^Commands:/.test(line)) { inCommands = true; continue; }
    if (inCommands && line.trim() === '') break;
    const m = inCommands ? new RegExp(`^  ${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} ([a-z][a-z-]*)`).exec(line) : null;
    if (m) out.push([...path, m[1]!]);
  }
  return out;
}

function words(text: string): string[] {
  return text.split(/\s+/).filter((w) => w !== '');
}

test('help of every command wraps between words at 40, 80 and 200 columns', async (t) => {
  if (!requireTestUser(t, 'help')) return;
  // Every command path, from the top-level help down through the groups (a level at a time).
  const paths: string[][] = [];
  const wide = new Map<string, string>();
  for (let level: string[][] = [[]]; level.length;) {
    const texts = await Promise.all(level.map((path) => help(path, WIDE)));
    const next: string[][] = [];
    level.forEach((path, i) => {
      wide.set(path.join(' '), texts[i]!);
      paths.push(path);
      next.push(...subcommands(path, texts[i]!));
    });
    level = next;
  }
  assert.ok(paths.length >= 30, `found only ${paths.length} commands:\n${paths.map((p) => p.join(' ')).join('\n')}`);
  assert.ok(paths.some((p) => p.join(' ') === 'image ls'), 'the groups\' subcommands are checked too');

  const checkOne = async (path: string[], columns: number): Promise<void> => {
    const known = new Set(words(wide.get(path.join(' '))!));
    const longest = Math.max(...[...known].map((w) => w.length));
    const text = await help(path, String(columns));
    const split = words(text).filter((w) => !known.has(w));
    assert.deepEqual(split, [], `sandbox ${path.join(' ')} --help at ${columns} columns prints words the unwrapped help does not have (a word split):\n${text}`);
    const blank = (t: string) => t.split('\n').filter((l) => l.trim() === '').length;
    assert.equal(blank(text), blank(wide.get(path.join(' '))!), `sandbox ${path.join(' ')} --help at ${columns} columns has blank lines the unwrapped help has not:\n${text}`);
    for (const line of text.split('\n')) {
      if (line.length <= columns) continue;
      // Over the width only where a word does not fit its column: never at 200, nor at 80 with words this short.
      assert.ok(columns < 80 || longest > columns / 3, `a line over ${columns} columns:\n${line}\nin:\n${text}`);
    }
  };
  const jobs = paths.flatMap((path) => [40, 80, 200].map((columns) => () => checkOne(path, columns)));
  // A few at a time: each is a start of bin/sandbox.
  const workers = Array.from({ length: 6 }, async () => {
    for (let job = jobs.shift(); job; job = jobs.shift()) await job();
  });
  await Promise.all(workers);
});

test('without a terminal or COLUMNS, help is 80 columns wide', async (t) => {
  if (!requireTestUser(t, 'help')) return;
  for (const path of [[], ['run'], ['images'], ['exec']]) {
    const text = await help(path);
    const widest = Math.max(...text.split('\n').map((l) => l.length));
    assert.ok(widest <= 80 && widest > 70, `sandbox ${path.join(' ')} --help is ${widest} columns wide:\n${text}`);
  }
});
