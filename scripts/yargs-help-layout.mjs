// yargs' help layout for the bundles: cliui with whole-word wrapping. Bundled, yargs takes
// its ES module build, whose cliui wraps at a fixed count of characters, splitting words
// ("fro" / "m"); cliui's CommonJS build wraps with wrap-ansi in its hard mode, which still
// splits a word longer than its column. This one breaks lines between words only: a word
// longer than its column overflows it. And a right-aligned hint (`[string]`) that would
// touch the description's last line goes on a line of its own, not glued to it
// ("SIGTERM)[string]"): cliui's renderInline lets it through at a gap of 0.
// scripts/build.mjs points yargs' `cliui` here.
import { cliui } from '../node_modules/cliui/build/lib/index.js';
import stringWidth from 'string-width';
import stripAnsi from 'strip-ansi';
import wrapAnsi from 'wrap-ansi';

export default function ui(opts) {
  const layout = cliui(opts, {
    stringWidth,
    stripAnsi,
    wrap: (text, width) => wrapAnsi(text, width, { hard: false }),
  });
  const renderInline = layout.renderInline.bind(layout);
  layout.renderInline = (source, previousLine) => {
    const leading = source.length - source.trimStart().length;
    if (leading <= stringWidth(previousLine.text.trimEnd())) return source;
    return renderInline(source, previousLine);
  };
  return layout;
}
