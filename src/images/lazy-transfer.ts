/**
 * The image transfer code (transfer.ts), loaded on first use. In the CLI bundle the
 * build defines `globalThis.__SANDBOX_SPLIT__` as true, and this loads dist/images.cjs
 * beside it (esbuild then leaves transfer.ts out of the CLI bundle: the other branch is
 * dead code); everywhere else (the library bundle, tests run from source) it is a
 * plain require of the module.
 */
type Transfer = typeof import('./transfer.js');

let loaded: Transfer | undefined;

export function transfer(): Transfer {
  if (!loaded) {
    if ((globalThis as { __SANDBOX_SPLIT__?: boolean }).__SANDBOX_SPLIT__) {
      const { join } = require('node:path') as typeof import('node:path');
      loaded = require(join(__dirname, 'images.cjs')) as Transfer;
    } else {
      loaded = require('./transfer.js') as Transfer;
    }
  }
  return loaded;
}
