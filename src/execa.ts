/**
 * execa, for the child processes off the start-up path (doctor's tries, the decompressing
 * tools of images/compression.ts), loaded on first use.
 *
 * execa is an ES module and, with its dependencies, about 115 KB minified: more than the
 * bundles `run`, `exec` and `ps` load may carry (the launcher reads and compiles the whole
 * bundle at every start). So the CLI's bundles (built with `__SANDBOX_SPLIT__`, see
 * scripts/build.mjs) load it from dist/execa.cjs beside them, made once by esbuild as
 * CommonJS; everywhere else (the library bundle, which inlines it; tests run from source)
 * it is a dynamic import, hence a promise.
 *
 * What stays on node:child_process, and why: runtime/launch.ts and runtime/spawn.ts (the
 * hot path of run and exec: a helper with extra descriptors, or spawned without
 * child_process at all), runtime/userns.ts (a long-lived stream into sandbox-layer) and
 * api/cp.ts (two helpers piped, the failing side told apart, warnings passed on live).
 */
type Execa = typeof import('execa', { with: { 'resolution-mode': 'import' } });

let loaded: Promise<Execa> | undefined;

export function loadExeca(): Promise<Execa> {
  if (!loaded) {
    if ((globalThis as { __SANDBOX_SPLIT__?: boolean }).__SANDBOX_SPLIT__) {
      const { join } = require('node:path') as typeof import('node:path');
      loaded = Promise.resolve(require(join(__dirname, 'execa.cjs')) as Execa);
    } else {
      loaded = import('execa');
    }
  }
  return loaded;
}
