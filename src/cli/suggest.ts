/**
 * "Did you mean ...?" for mistyped commands and options: the closest known spelling, only
 * when it is a small edit away (a typo), never a distant word that merely shares letters
 * (`build` is not a typo of `kill`). Pure.
 */

/** Edits between two words: insertions, deletions, substitutions, and swaps of neighbours (`stpo` -> `stop` is one). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** How far a typo of a word this long may be: 1 edit up to 5 letters, 2 beyond. */
function allowedDistance(word: string): number {
  return word.length <= 5 ? 1 : 2;
}

/**
 * The candidate closest to `word` when it is a typo's distance away (ties: the first
 * given), else undefined. The word itself is never suggested.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const limit = allowedDistance(word);
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    if (c === word) continue;
    const dist = editDistance(word, c);
    if (dist < bestDistance) {
      best = c;
      bestDistance = dist;
    }
  }
  return best;
}
