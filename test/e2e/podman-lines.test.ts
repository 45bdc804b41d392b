/**
 * Issue 14: Podman command lines, each run against bin/sandbox and, where Podman is
 * installed, against `podman --runtime runc` with the same expectations, so that a
 * divergence shows at once. Both run as the test user, each with a store of its own per
 * file (sandbox: a fresh --root; Podman: its own root, runroot, config and runtime dir,
 * see podman.ts) holding the busybox test image as `bb`.
 *
 * The lines: test/e2e/podman-lines/*.txt (one file per part of the work). Format:
 *
 *   # a comment; blank lines are ignored
 *   EXIT | OUTPUT-REGEX | COMMAND LINE
 *   @sandbox-only REASON          (the next case runs against sandbox only; REASON is
 *                                  printed, e.g. "Podman has -p")
 *
 * - EXIT: the exit status expected, a number, or `*` for any.
 * - OUTPUT-REGEX: a JavaScript regular expression (flag m: ^ and $ match at lines)
 *   searched for in stdout followed by stderr; empty matches anything. Fields are split at
 *   the first two " | " (space, bar, space; `0 | | CMD` has an empty regex): a `|`
 *   without spaces around it is the regex's own.
 * - COMMAND LINE: the words after `sandbox` / `podman`, split as a POSIX shell splits
 *   words ('single', "double" quotes, backslash escapes; no expansions, no pipes).
 *   `$IMG` is the busybox test image; `$NAME` a fresh sandbox name (one per line: the same
 *   in all of its words); `$KEEP` a name that is the same on every line of the file (for
 *   a sequence: run -d, then inspect, then rm). Lines of a file run in order; files run
 *   one after another. Stdin is empty.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { importImage, newStore, requireRootless, runSandbox, show, underCI, type RunResult } from './harness.js';
import { newPodman, podmanProblems, type Podman } from './podman.js';

const LINES_DIR = join(__dirname, 'podman-lines');
const IMAGE = 'bb';

export interface PodmanLine {
  file: string;
  line: number;
  exit: number | '*';
  pattern: RegExp;
  words: string[];
  /** Why it runs against sandbox only (undefined: against Podman too). */
  sandboxOnly?: string;
  text: string;
}

/** Splits a command line into words as a POSIX shell does (quotes and backslashes; nothing expanded). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in: ${line}`);
      word += line.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      i += 1;
      for (; i < line.length && line[i] !== '"'; i++) {
        if (line[i] === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!)) i += 1;
        word += line[i];
      }
      if (i >= line.length) throw new Error(`unterminated " in: ${line}`);
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (c === ' ' || c === '\t') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** The cases of one file (see the format above); throws on a malformed line, naming it. */
export function parseLines(file: string, text: string): PodmanLine[] {
  const out: PodmanLine[] = [];
  let sandboxOnly: string | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    const where = `${file}:${index + 1}`;
    if (line === '' || line.startsWith('#')) return;
    if (line.startsWith('@sandbox-only')) {
      sandboxOnly = line.slice('@sandbox-only'.length).trim();
      if (!sandboxOnly) throw new Error(`${where}: @sandbox-only needs a reason`);
      return;
    }
    const first = line.indexOf(' | ');
    const second = first < 0 ? -1 : line.indexOf(' | ', first + 2); // + 2: an empty regex is `0 | | CMD`
    if (second < 0) throw new Error(`${where}: expected EXIT | OUTPUT-REGEX | COMMAND LINE: ${line}`);
    const exitText = line.slice(0, first).trim();
    const exit = exitText === '*' ? '*' : Number(exitText);
    if (exit !== '*' && !(Number.isInteger(exit) && exit >= 0 && exit <= 255)) throw new Error(`${where}: bad exit status ${exitText}`);
    let pattern: RegExp;
    try {
      pattern = new RegExp(line.slice(first + 3, second).trim(), 'm');
    } catch (err) {
      throw new Error(`${where}: bad regex: ${(err as Error).message}`);
    }
    const words = shellWords(line.slice(second + 3).trim());
    if (words.length === 0) throw new Error(`${where}: no command line`);
    out.push({ file, line: index + 1, exit, pattern, words, text: line, ...(sandboxOnly ? { sandboxOnly } : {}) });
    sandboxOnly = undefined;
  });
  return out;
}

let unique = 0;

/** The words with $IMG, $NAME (fresh for this line) and $KEEP (the file's) filled in. */
function expand(words: string[], keep: string): string[] {
  const name = `pl-${process.pid}-${++unique}`;
  return words.map((w) => w.replaceAll('$IMG', IMAGE).replaceAll('$NAME', name).replaceAll('$KEEP', keep));
}

function passes(c: PodmanLine, r: RunResult): boolean {
  return (c.exit === '*' || r.code === c.exit) && c.pattern.test(r.stdout + r.stderr);
}

/** A `run --rm` (or `container run --rm`): running it again changes nothing. */
function rerunnable(words: string[]): boolean {
  const run = words[0] === 'run' || (words[0] === 'container' && words[1] === 'run');
  return run && words.includes('--rm');
}

function check(who: string, c: PodmanLine, r: RunResult): void {
  const output = r.stdout + r.stderr;
  const context = `${c.file}:${c.line}: ${c.text}\n${who}: ${show(r)}`;
  if (c.exit !== '*') assert.equal(r.code, c.exit, `exit status\n${context}`);
  assert.match(output, c.pattern, `output\n${context}`);
}

const files = readdirSync(LINES_DIR).filter((f) => f.endsWith('.txt')).sort();

test('every podman-lines file parses', () => {
  let total = 0;
  for (const f of files) total += parseLines(f, readFileSync(join(LINES_DIR, f), 'utf8')).length;
  assert.ok(total > 0, 'no lines at all');
});

for (const f of files) {
  test(`podman lines: ${f}`, async (t) => {
    if (!requireRootless(t, `podman lines of ${f}`)) return;
    const cases = parseLines(f, readFileSync(join(LINES_DIR, f), 'utf8'));
    const root = await newStore(t);
    await importImage(root, await busyboxRootfsTar(), IMAGE);
    let podman: Podman | undefined;
    if (cases.some((c) => !c.sandboxOnly)) {
      // Without Podman the lines still run against sandbox (under CI its absence fails: newPodman).
      const problems = podmanProblems();
      if (problems.length && !underCI()) t.diagnostic(`podman lines of ${f} run against sandbox only: ${problems.join('; ')}`);
      else podman = await newPodman(t);
      if (podman) {
        const imported = await podman(['import', await busyboxRootfsTar(), IMAGE]);
        assert.equal(imported.code, 0, `podman import\n${show(imported)}`);
      }
    }
    const keep = `pl-keep-${basename(f, '.txt')}-${process.pid}`;
    try {
      await runCases(t, cases, root, podman, keep);
    } finally {
      // Before podman.ts removes its directory: no container of these lines may keep running.
      if (podman) await podman(['rm', '--force', '--all', '--time', '0']);
    }
  });
}

async function runCases(t: TestContext, cases: PodmanLine[], root: string, podman: Podman | undefined, keep: string): Promise<void> {
  for (const c of cases) {
    await t.test(`${c.file}:${c.line} ${c.words.join(' ')}`, async (st) => {
      const words = expand(c.words, keep);
      const [ours, theirs] = await Promise.all([
        runSandbox(words, { root }),
        c.sandboxOnly || !podman ? undefined : podman(words),
      ]);
      check('sandbox', c, ours);
      if (c.sandboxOnly) st.diagnostic(`sandbox only: ${c.sandboxOnly}`);
      else if (theirs && podman) {
        let r = theirs;
        // Podman 4.3 with runc now and then loses the output of a short-lived container
        // (exit 0, nothing printed): a `run --rm` line, which leaves nothing behind, is
        // tried once more against it before its result counts. Never for ours.
        if (!passes(c, r) && rerunnable(words)) {
          st.diagnostic(`podman tried again: ${show(r)}`);
          r = await podman(words);
        }
        check('podman', c, r);
      }
    });
  }
}
