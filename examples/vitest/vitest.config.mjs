// @ts-check
import { defineConfig } from 'vitest/config';

// Plain JavaScript, loaded by Node itself (`--configLoader native` in package.json): Vite
// would otherwise bundle a config into a temporary file beside it, which fails where the
// tests run as a user who cannot write to this directory.
export default defineConfig({
  // The results cache; the e2e test gives it a directory of the user running the tests.
  cacheDir: process.env.VITEST_CACHE_DIR ?? 'node_modules/.vite',
  test: {
    // Starting a sandbox takes a fraction of a second; a wait strategy may take longer.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
