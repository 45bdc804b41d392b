// yargs' help layout for the bundles: cliui with whole-word wrapping. Bundled, yargs takes
// its ES module build, whose cliui wraps at a fixed count of characters, splitting words
// ("fro" / "m"); cliui's CommonJS build wraps with wrap-ansi in its hard mode, which still
// splits a word longer than its column. This one breaks lines between words only: a word
// longer than its column overflows it. And a right-aligned hint (`[string]`) that would
// touch the description's last line goes on a line of its own, not glued to it
// ("SIGTERM)[string]"): cliui's renderInline lets it through at a gap of 0.
// Our help has no colours or wide characters: a character is a column.
// scripts/build.mjs points yargs' `cliui` here.
import { cliui } from '../node_modules/cliui/build/lib/index.js';

const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;
const width = (text) => [...text.replace(ANSI, '')].length;

/** Lines of at most `columns` characters, broken at spaces only. */
function wrapWords(text, columns) {
  const out = [];
  for (const line of text.split('\n')) {
    let row = '';
    for (const word of line.split(' ').filter((w) => w !== '')) {
      if (row === '') row = word;
      else if (width(row) + 1 + width(word) <= columns) row += ` ${word}`;
      else {
        out.push(row);
        row = word;
      }
    }
    out.push(row);
  }
  return out.join('\n');
}

export default function ui(opts) {
  const layout = cliui(opts, {
    stringWidth: width,
    stripAnsi: (text) => text.replace(ANSI, ''),
    wrap: wrapWords,
  });
  const renderInline = layout.renderInline.bind(layout);
  layout.renderInline = (source, previousLine) => {
    if (!previousLine.span) return source;
    // Nothing to show (a command without a hint): the previous line stays as it is.
    if (source.trim() === '') {
      previousLine.hidden = true;
      return previousLine.text;
    }
    const leading = source.length - source.trimStart().length;
    if (leading <= width(previousLine.text.trimEnd())) return source;
    return renderInline(source, previousLine);
  };
  return layout;
}
