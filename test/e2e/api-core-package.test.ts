/**
 * The built package as a user's project sees it: `require('sandbox')`, `import ... from
 * 'sandbox'` (package.json `exports`), and a TypeScript file type-checked against its
 * declarations (dist/types). The project gets the package as a `file:` dependency does
 * (node_modules/sandbox, a link to this checkout): no registry, no second build.
 * Also: the CLI's bundles hold none of the Sandbox class (start-up of run and exec).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './harness.js';

let project = '';

function node(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, args, { cwd: project, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: project } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the package (exports, CommonJS, ESM, types)', () => {
  before(() => {
    for (const f of ['dist/api.cjs', 'dist/api.mjs', 'dist/types/api/index.d.ts']) {
      if (!existsSync(join(REPO_ROOT, f))) throw new Error(`${f} is missing: run \`npm run build\` first`);
    }
    project = mkdtempSync(join(tmpdir(), 'sandbox-e2e-package-'));
    mkdirSync(join(project, 'node_modules', '@types'), { recursive: true });
    symlinkSync(REPO_ROOT, join(project, 'node_modules', 'sandbox'));
    symlinkSync(join(REPO_ROOT, 'node_modules', '@types', 'node'), join(project, 'node_modules', '@types', 'node'));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, dependencies: { sandbox: `file:${REPO_ROOT}` } }));
  });
  after(() => { if (project) rmSync(project, { recursive: true, force: true }); });

  it('require("sandbox") gives the Sandbox class, SandboxError with its code, and the helpers', () => {
    const r = node(['-e', `
      const s = require('sandbox');
      const e = new s.SandboxError('x', { code: 'no-such-sandbox', hint: 'h' });
      console.log(JSON.stringify([typeof s.Sandbox, typeof s.Sandbox.start, typeof s.Sandbox.get, typeof s.Sandbox.list, typeof s.Network.create,
        typeof s.Image.pull, typeof s.Image.list, typeof s.openStore, e.code, e.hint, e instanceof Error, new s.SandboxError('y').code]));
    `]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), ['function', 'function', 'function', 'function', 'function', 'function', 'function', 'function', 'no-such-sandbox', 'h', true, 'error']);
  });

  it('import from "sandbox" gives the same module as require (one copy of every class)', () => {
    const r = node(['--input-type=module', '-e', `
      import { Sandbox, SandboxError, Network, Image } from 'sandbox';
      import api from 'sandbox';
      import { createRequire } from 'node:module';
      const required = createRequire(process.cwd() + '/x.js')('sandbox');
      console.log(JSON.stringify([typeof Sandbox, Sandbox === required.Sandbox, SandboxError === required.SandboxError, api.Sandbox === Sandbox, typeof Network, typeof Image]));
    `]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), ['function', true, true, true, 'function', 'object']);
  });

  it('a TypeScript file type-checks against the declarations, and a wrong one does not', () => {
    writeFileSync(join(project, 'good.ts'), `
import { Sandbox, SandboxError, Network, Image, type SandboxStartOptions, type ExecResult, type WaitStrategy } from 'sandbox';
const ready: WaitStrategy = { describe: () => 'a file', waitUntilReady: async (target, signal) => { while (!signal.aborted && (await target.exec(['test', '-e', '/tmp/r'])).exitCode !== 0); } };
export async function use(dir: string): Promise<string> {
  const net = await Network.create({ root: dir });
  const options: SandboxStartOptions = {
    image: 'host', command: ['sleep', 'infinity'], env: { A: '1' }, workdir: '/src', user: '0:0', hostname: 't1', labels: { suite: 'x' },
    mounts: [{ source: dir, target: '/src', readonly: true }], tmpfs: ['/tmp'], ports: [8080], limits: { memory: '256m', pids: 128 },
    networks: [{ network: net, aliases: ['db'] }], waitFor: ready, startupTimeoutMs: 10_000, root: dir, pull: 'missing',
  };
  await using box = await Sandbox.start(options);
  const r: ExecResult = await box.exec(['sh', '-c', 'echo $A'], { env: { B: '2' }, timeoutMs: 1000, stdin: 'x' });
  const p = box.spawn(['cat']);
  p.stdin.end('x');
  const code: number = await p.exit;
  await box.writeFile('/tmp/in', 'data');
  const text: string = await box.readFile('/tmp/in', 'utf8');
  const bytes: Buffer = await box.readFile('/tmp/in');
  const port: number = box.mappedPort(8080, 'tcp');
  await box.stop({ timeoutMs: 1000 }); await box.start(); await box.restart();
  const id: string = await box.commit('app:snap');
  const images = await Image.list({ root: dir });
  try { await Sandbox.get('x', { root: dir }); } catch (e) { if (e instanceof SandboxError) return e.code + (e.hint ?? ''); }
  return [r.stdout, code, text, bytes.length, port, id, box.host, box.id, box.name, images.length, (await box.inspect()).state.status, await box.logs({ tail: 10 })].join();
}
`);
    writeFileSync(join(project, 'bad.ts'), `
import { Sandbox } from 'sandbox';
// An option that does not exist, a shell string for argv, a wrong exec result field.
export async function use(): Promise<void> {
  const box = await Sandbox.start({ image: 'host', comand: ['true'] });
  await box.exec('echo hi');
  const r = await box.exec(['true']);
  r.exit_code;
}
`);
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, lib: ['ES2022', 'ESNext.Disposable'], types: ['node'] },
      files: ['good.ts'],
    }));
    const good = node([tsc, '-p', '.']);
    assert.equal(good.code, 0, `good.ts: ${good.stdout}${good.stderr}`);
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, lib: ['ES2022', 'ESNext.Disposable'], types: ['node'] },
      files: ['bad.ts'],
    }));
    const bad = node([tsc, '-p', '.']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stdout, /bad\.ts\(5,.*'comand' does not exist/);
    assert.match(bad.stdout, /bad\.ts\(6,.*not assignable to parameter of type 'string\[\]'/);
    assert.match(bad.stdout, /bad\.ts\(8,.*'exit_code' does not exist/);
  });

  it('the CLI\'s bundles do not hold the Sandbox class (it is loaded by library users only)', () => {
    for (const bundle of ['sandbox.cjs', 'exec.cjs']) {
      const text = readFileSync(join(REPO_ROOT, 'dist', bundle), 'utf8');
      assert.ok(!text.includes('"Sandbox")') && !text.includes('spawnInSandbox'), `${bundle} holds the library's Sandbox class`);
    }
    assert.ok(readFileSync(join(REPO_ROOT, 'dist', 'api.cjs'), 'utf8').includes('spawnInSandbox'), 'the marker is there in the library bundle');
  });
});
