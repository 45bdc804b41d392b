// Builds what bin/sandbox and library users run: five bundled, minified CommonJS files
// (Node start-up is most of our latency, and loading yargs and the rest from node_modules
// file by file costs ~200 ms), plus the C helpers of helpers/, compiled with the system's cc.
//   dist/sandbox.cjs  the CLI (src/cli/main.ts): run, ps and a bare version without yargs, the rest with it
//   dist/exec.cjs     `sandbox exec` alone (src/cli/exec-main.ts), which bin/sandbox loads for exec
//   dist/images.cjs   image transfer (registries, archives), loaded by the CLI on first use
//   dist/execa.cjs    execa (an ES module, here as CommonJS), loaded by the CLI's bundles on
//                     first use: doctor's tries and the zstd/xz/bzip2 tools (src/execa.ts)
//   dist/api.cjs      the library API (src/api/index.ts), package.json's "main"; it inlines
//                     the image transfer code and execa. The CLI's bundles never load it (the
//                     Sandbox class of src/api/sdk/ is in it alone)
//   dist/api.mjs      the library for `import`: a re-export of dist/api.cjs, so that import and
//                     require share one copy of every class (no dual-package hazard)
//   dist/testing.cjs  `sandbox/testing` (src/api/sdk/testing.ts), the node:test helpers: a few
//                     lines on top of dist/api.cjs, which it requires (the same Sandbox class,
//                     not a copy); dist/testing.mjs re-exports it for `import`
//   dist/types/       the library's .d.ts (tsc -p tsconfig.types.json, incremental), package.json's
//                     "types"; `--no-types` skips them (quicker while working on the CLI)
// The CLI's bundles are built "split" (globalThis.__SANDBOX_SPLIT__ true): what they load on
// first use stays out of them. README.md, "How it works", has the picture.
import { build } from 'esbuild';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // Minified: the launcher reads and hashes the whole bundle on every start (source maps stay).
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  logLevel: 'warning',
  // execa and its dependencies use import.meta.url; give the bundle a CommonJS equivalent.
  define: { 'import.meta.url': '__sandbox_import_meta_url', __SANDBOX_VERSION__: JSON.stringify(version) },
  banner: { js: 'const __sandbox_import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
  plugins: [wholeWordHelp()],
};

const split = { ...common.define, 'globalThis.__SANDBOX_SPLIT__': 'true' };

/** yargs' `cliui` (its help layout) becomes scripts/yargs-help-layout.mjs, which never splits a word. */
function wholeWordHelp() {
  return {
    name: 'whole-word-help',
    setup(b) {
      b.onResolve({ filter: /^cliui$/ }, () => ({ path: join(root, 'scripts', 'yargs-help-layout.mjs') }));
    },
  };
}

await Promise.all([
  // The CLI loads the image transfer code (registries, archives) from dist/images.cjs on
  // first use (src/images/lazy-transfer.ts), and execa from dist/execa.cjs (src/execa.ts).
  build({ ...common, entryPoints: [join(root, 'src/cli/main.ts')], outfile: join(root, 'dist/sandbox.cjs'), define: split }),
  build({ ...common, entryPoints: [join(root, 'src/images/transfer.ts')], outfile: join(root, 'dist/images.cjs'), define: split }),
  build({ ...common, entryPoints: [join(root, 'node_modules/execa/index.js')], outfile: join(root, 'dist/execa.cjs') }),
  // `exec` alone, which bin/sandbox loads for `sandbox exec` (a tenth of the CLI to load).
  // No banner: nothing on exec's path uses import.meta.url, and making it costs ~0.3 ms.
  build({ ...common, banner: {}, entryPoints: [join(root, 'src/cli/exec-main.ts')], outfile: join(root, 'dist/exec.cjs') }),
  build({ ...common, entryPoints: [join(root, 'src/api/index.ts')], outfile: join(root, 'dist/api.cjs') }),
  build({ ...common, entryPoints: [join(root, 'src/api/sdk/testing.ts')], outfile: join(root, 'dist/testing.cjs'), plugins: [...common.plugins, libraryFromApiBundle()] }),
  ...(process.argv.includes('--no-types') ? [] : [libraryTypes()]),
]);
writeFileSync(join(root, 'dist/api.mjs'), [
  '// The library for `import`: the very module `require` loads (dist/api.cjs), one copy of every class.',
  "export * from './api.cjs';",
  "import api from './api.cjs';",
  'export default api;',
  '',
].join('\n'));

writeFileSync(join(root, 'dist/testing.mjs'), [
  '// `sandbox/testing` for `import`: the very module `require` loads (dist/testing.cjs).',
  "export * from './testing.cjs';",
  "import testing from './testing.cjs';",
  'export default testing;',
  '',
].join('\n'));

/** For dist/testing.cjs: what src/api/sdk/testing.ts takes from the library is required from dist/api.cjs. */
function libraryFromApiBundle() {
  return {
    name: 'library-from-api-bundle',
    setup(b) {
      b.onResolve({ filter: /^(\.\/sandbox|\.\/wait|\.\.\/\.\.\/errors)\.js$/ }, (args) =>
        args.importer.endsWith(join('src', 'api', 'sdk', 'testing.ts')) ? { path: './api.cjs', external: true } : undefined);
    },
  };
}

/** dist/types: the library's declarations, by tsc (incremental: a rebuild with no change takes seconds). */
async function libraryTypes() {
  try {
    await promisify(execFile)(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.types.json')], { cwd: root });
  } catch (err) {
    console.error(`sandbox: building the library's types failed:\n${err.stdout ?? ''}${err.stderr ?? err.message}`);
    process.exit(1);
  }
}

// bin/sandbox reads a bundle as one string at every start: Node makes that a two-byte string
// (the whole file decoded from UTF-8, ~1.5 ms for the CLI's) when a single character is not
// ASCII. esbuild escapes them in strings but copies regular expressions as written: write
// those with \u escapes.
for (const name of ['sandbox', 'exec']) {
  const text = readFileSync(join(root, 'dist', `${name}.cjs`), 'latin1');
  const at = text.search(/[^\x00-\x7f]/);
  if (at >= 0) {
    console.error(`sandbox: dist/${name}.cjs is not ASCII at ${JSON.stringify(text.slice(Math.max(0, at - 40), at + 10))}: write that character as a \\u escape in the source`);
    process.exit(1);
  }
}

mkdirSync(join(root, 'helpers/build'), { recursive: true });
try {
  execFileSync('make', ['-s', '-C', join(root, 'helpers')], { stdio: 'inherit' });
} catch {
  console.error('sandbox: building the C helpers failed; install a C compiler and make (Debian: apt-get install gcc make libc6-dev)');
  process.exit(1);
}
