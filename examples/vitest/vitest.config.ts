import { defineConfig } from 'vitest/config';

export default defineConfig({
  // No results cache in node_modules/.vite: the tests may run as a user who cannot write there.
  cacheDir: process.env.VITEST_CACHE_DIR ?? 'node_modules/.vite',
  test: {
    cache: false,
    // Starting a sandbox takes a fraction of a second; a wait strategy may take longer.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
