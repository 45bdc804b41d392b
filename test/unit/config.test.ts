/** Image configs: `--change` instructions, configs of imported rootfs tarballs, run config. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxError } from '../../src/errors.js';
import { DEFAULT_PATH } from '../../src/runtime/plan.js';
import { applyChanges, changeHistory, dockerfileWords, hostArchitecture, newRootfsConfig, runConfigOf, type OciImageConfig } from '../../src/images/config.js';

function rejects(changes: string[], message: RegExp, hint: RegExp): void {
  assert.throws(() => applyChanges({}, changes), (err: unknown) => {
    assert.ok(err instanceof SandboxError, String(err));
    assert.equal(err.exitCode, 125);
    assert.match(err.message, message);
    assert.match(err.hint ?? '', hint);
    return true;
  }, JSON.stringify(changes));
}

describe('applyChanges', () => {
  it('CMD in JSON form is the array as given', () => {
    assert.deepEqual(applyChanges({}, ['CMD ["/bin/echo", "a b", ""]']).Cmd, ['/bin/echo', 'a b', '']);
    assert.deepEqual(applyChanges({}, ['CMD []']).Cmd, []);
  });

  it('CMD in shell form runs through /bin/sh -c, trimmed', () => {
    assert.deepEqual(applyChanges({}, ['CMD   echo "hi there" && ls  ']).Cmd, ['/bin/sh', '-c', 'echo "hi there" && ls']);
  });

  it('INSTRUCTION=VALUE form (podman) and lower case instructions', () => {
    assert.deepEqual(applyChanges({}, ['CMD=/bin/sh']).Cmd, ['/bin/sh', '-c', '/bin/sh']);
    assert.deepEqual(applyChanges({}, ['CMD=["/bin/sh"]']).Cmd, ['/bin/sh']);
    assert.deepEqual(applyChanges({}, ['cmd ["ls"]']).Cmd, ['ls']);
    assert.equal(applyChanges({}, ['workdir = /srv']).WorkingDir, '/srv');
  });

  it('invalid JSON arrays are errors, not shell commands', () => {
    rejects(['CMD ["sh"'], /^invalid JSON array in --change: \["sh"$/, /\["prog", "arg"\]/);
    rejects(['CMD [1, 2]'], /invalid JSON array/, /\["prog", "arg"\]/);
    rejects(['ENTRYPOINT [not json]'], /invalid JSON array/, /\["prog", "arg"\]/);
  });

  it('ENTRYPOINT in both forms; it does not touch Cmd', () => {
    const c = applyChanges({ Cmd: ['x'] }, ['ENTRYPOINT ["/init", "--"]']);
    assert.deepEqual(c.Entrypoint, ['/init', '--']);
    assert.deepEqual(c.Cmd, ['x']);
    assert.deepEqual(applyChanges({}, ['ENTRYPOINT exec /init']).Entrypoint, ['/bin/sh', '-c', 'exec /init']);
  });

  it('later instructions win', () => {
    assert.deepEqual(applyChanges({}, ['CMD ["a"]', 'CMD ["b"]']).Cmd, ['b']);
  });

  it('ENV sets several pairs, replaces existing keys and keeps the others', () => {
    const c = applyChanges({ Env: ['PATH=/bin', 'A=old', 'AB=keep'] }, ['ENV A=1 B=two  _c=3 D=x=y', 'ENV PATH=/usr/bin:/bin']);
    assert.deepEqual(c.Env, ['AB=keep', 'A=1', 'B=two', '_c=3', 'D=x=y', 'PATH=/usr/bin:/bin']);
  });

  it('ENV value with spaces that are not followed by KEY= stays one value', () => {
    assert.deepEqual(applyChanges({}, ['ENV MSG=hello world']).Env, ['MSG=hello world']);
    assert.deepEqual(applyChanges({}, ['ENV E=']).Env, ['E=']);
  });

  it('ENV without KEY=VALUE is an error', () => {
    rejects(['ENV NOVALUE'], /^invalid ENV in --change: NOVALUE$/, /ENV KEY=VALUE/);
    rejects(['ENV =x'], /invalid ENV/, /ENV KEY=VALUE/);
  });

  // Dockerfile syntax (and podman --change, which uses its parser) removes the quotes:
  // `ENV MSG="hello world"` sets MSG to `hello world`.
  it('ENV strips Dockerfile quotes', () => {
    assert.deepEqual(applyChanges({}, ['ENV MSG="hello world" B=\'x\'']).Env, ['MSG=hello world', 'B=x']);
  });

  it('ENV quotes group words, and a backslash escapes outside single quotes', () => {
    assert.deepEqual(applyChanges({}, ['ENV A="x  y" B=\'it"s\' C=a\\ b D="say \\"hi\\"" E=\'\\n\' F="\\n"']).Env,
      ['A=x  y', 'B=it"s', 'C=a b', 'D=say "hi"', 'E=\\n', 'F=\\n']);
    assert.deepEqual(applyChanges({}, ['ENV A="" B=pre"mid dle"post C=\\"']).Env, ['A=', 'B=premid dlepost', 'C="']);
    assert.deepEqual(applyChanges({}, ['ENV MSG=hello "A=b"']).Env, ['MSG=hello A=b'], 'a quoted = does not start a pair');
  });

  it('ENV in the legacy form KEY VALUE: the rest of the line is the value, quotes removed', () => {
    assert.deepEqual(applyChanges({}, ['ENV MSG hello  world']).Env, ['MSG=hello  world']);
    assert.deepEqual(applyChanges({}, ['ENV MSG "hello world" A=b']).Env, ['MSG=hello world A=b']);
    assert.deepEqual(applyChanges({ Env: ['MSG=old'] }, ['ENV MSG \'x\'']).Env, ['MSG=x']);
  });

  it('an unterminated quote is an error', () => {
    rejects(['ENV A="x'], /^unterminated double quote in --change: A="x$/, /close the quote/);
    rejects(["LABEL a='x"], /^unterminated single quote in --change: a='x$/, /close the quote/);
  });

  it('LABEL sets several pairs, strips double quotes, keeps existing labels', () => {
    const c = applyChanges({ Labels: { keep: 'me', a: 'old' } }, ['LABEL a=1 b="two" c= d=x=y']);
    assert.deepEqual(c.Labels, { keep: 'me', a: '1', b: 'two', c: '', d: 'x=y' });
  });

  it('LABEL without key=value is an error', () => {
    rejects(['LABEL novalue'], /^invalid LABEL in --change: novalue$/, /LABEL key=value/);
  });

  it('LABEL with a quoted value containing spaces', () => {
    assert.deepEqual(applyChanges({}, ['LABEL a="x y"']).Labels, { a: 'x y' });
  });

  it('LABEL quotes group words, single quotes and quoted keys too', () => {
    assert.deepEqual(applyChanges({}, ['LABEL a="x y" b=z']).Labels, { a: 'x y', b: 'z' });
    assert.deepEqual(applyChanges({}, ['LABEL "com.example.vendor"="ACME Inc" c=\'1 2\' d=e\\ f']).Labels,
      { 'com.example.vendor': 'ACME Inc', c: '1 2', d: 'e f' });
    rejects(['LABEL "a=b"'], /^invalid LABEL in --change: "a=b"$/, /LABEL key=value/);
  });

  it('no Labels key when there are none', () => {
    assert.ok(!('Labels' in applyChanges({}, ['CMD ["sh"]'])));
    assert.ok(!('Labels' in applyChanges({ Labels: {} }, [])));
  });

  it('EXPOSE defaults to /tcp, keeps given protocols and earlier ports', () => {
    const c = applyChanges({ ExposedPorts: { '22/tcp': {} } }, ['EXPOSE 80 53/udp  8080/tcp']);
    assert.deepEqual(c.ExposedPorts, { '22/tcp': {}, '80/tcp': {}, '53/udp': {}, '8080/tcp': {} });
  });

  it('WORKDIR, USER, STOPSIGNAL are set trimmed', () => {
    const c = applyChanges({}, ['WORKDIR  /srv/app ', 'USER 1000:1000', 'STOPSIGNAL SIGINT']);
    assert.equal(c.WorkingDir, '/srv/app');
    assert.equal(c.User, '1000:1000');
    assert.equal(c.StopSignal, 'SIGINT');
  });

  it('an unknown instruction is an error listing the supported ones', () => {
    rejects(['RUN apt-get update'], /^unsupported --change instruction RUN$/, /^supported: CMD ENTRYPOINT ENV EXPOSE LABEL STOPSIGNAL USER WORKDIR$/);
    rejects(['volume /data'], /instruction VOLUME$/, /supported:/);
  });

  it('a change without a value is an error with an example', () => {
    for (const bad of ['CMD', '', '   ', '["sh"]', '1CMD x']) rejects([bad], /^invalid --change/, /INSTRUCTION VALUE/);
  });

  it('does not modify the config it is given', () => {
    const config: OciImageConfig['config'] = { Env: ['A=1'], Labels: { l: '1' }, ExposedPorts: { '1/tcp': {} }, Cmd: ['x'] };
    const before = structuredClone(config);
    applyChanges(config, ['ENV A=2 B=3', 'LABEL l=2 m=3', 'EXPOSE 2', 'CMD ["y"]']);
    assert.deepEqual(config, before);
  });

  it('no changes: the same fields back', () => {
    assert.deepEqual(applyChanges({ Env: ['A=1'], Cmd: ['sh'], User: 'u' }, []), { Env: ['A=1'], Cmd: ['sh'], User: 'u' });
  });
});

describe('dockerfileWords', () => {
  it('splits at unquoted white space, keeping what preceded each word', () => {
    assert.deepEqual(dockerfileWords('  a=1 \t b  '), [{ text: 'a=1', eq: 1, space: '' }, { text: 'b', eq: -1, space: ' \t ' }]);
    assert.deepEqual(dockerfileWords(''), []);
    assert.deepEqual(dockerfileWords('""'), [{ text: '', eq: -1, space: '' }]);
  });

  it('only an unquoted, unescaped = counts', () => {
    assert.deepEqual(dockerfileWords('"a=b"=c \\=x \'k=\'v').map((w) => w.eq), [3, -1, -1]);
  });

  it('a trailing backslash is dropped; inside double quotes other backslashes stay', () => {
    assert.deepEqual(dockerfileWords('a\\').map((w) => w.text), ['a']);
    assert.deepEqual(dockerfileWords('"a\\b\\\\c\\$"').map((w) => w.text), ['a\\b\\c$']);
  });
});

describe('newRootfsConfig', () => {
  const now = new Date('2024-05-06T07:08:09.010Z');

  it('one layer, default PATH, linux on the host architecture, one history entry', () => {
    const c = newRootfsConfig('sha256:abc', [], 'sandbox import root.tar', now);
    assert.deepEqual(c, {
      created: '2024-05-06T07:08:09.010Z',
      architecture: hostArchitecture(),
      os: 'linux',
      config: { Env: [`PATH=${DEFAULT_PATH}`] },
      rootfs: { type: 'layers', diff_ids: ['sha256:abc'] },
      history: [{ created: '2024-05-06T07:08:09.010Z', created_by: 'sandbox import root.tar' }],
    });
  });

  it('applies the changes on top of the default env', () => {
    const c = newRootfsConfig('sha256:abc', ['ENV PATH=/bin FOO=1', 'CMD ["/bin/sh"]'], 'x', now);
    assert.deepEqual(c.config.Env, ['PATH=/bin', 'FOO=1']);
    assert.deepEqual(c.config.Cmd, ['/bin/sh']);
    // A history row per change, after the layer's, without a layer of its own (issue 18).
    assert.deepEqual(c.history, [
      { created: '2024-05-06T07:08:09.010Z', created_by: 'x' },
      { created: '2024-05-06T07:08:09.010Z', created_by: '/bin/sh -c #(nop) ENV PATH=/bin FOO=1', empty_layer: true },
      { created: '2024-05-06T07:08:09.010Z', created_by: '/bin/sh -c #(nop) CMD ["/bin/sh"]', empty_layer: true },
    ]);
    assert.deepEqual(changeHistory(['cmd=sh', '  label a=b '], 'T').map((h) => h.created_by), ['/bin/sh -c #(nop) CMD sh', '/bin/sh -c #(nop) LABEL a=b']);
  });

  it('a bad change fails the whole config', () => {
    assert.throws(() => newRootfsConfig('sha256:abc', ['RUN x'], 'x', now), SandboxError);
  });

  it('host architecture uses OCI names', () => {
    const expected: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: '386' };
    assert.equal(hostArchitecture(), expected[process.arch] ?? hostArchitecture());
  });
});

describe('runConfigOf', () => {
  it('takes env, entrypoint, cmd, working dir, user, labels and stop signal', () => {
    const config = newRootfsConfig('sha256:abc', ['ENTRYPOINT ["/init"]', 'CMD ["a"]', 'WORKDIR /w', 'USER u', 'LABEL x=y', 'STOPSIGNAL 9'], 'x');
    assert.deepEqual(runConfigOf(config), {
      env: [`PATH=${DEFAULT_PATH}`], entrypoint: ['/init'], cmd: ['a'], workingDir: '/w', user: 'u', labels: { x: 'y' }, stopSignal: '9',
    });
  });

  it('leaves out what the image does not set, env defaults to empty', () => {
    const config: OciImageConfig = { architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] } };
    assert.deepEqual(runConfigOf(config), { env: [] });
  });

  it('copes with a config without "config" (optional in the OCI image spec)', () => {
    const config = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } } as unknown as OciImageConfig;
    assert.deepEqual(runConfigOf(config), { env: [] });
  });

  it('keeps an empty Cmd (an explicit "no default command")', () => {
    const config: OciImageConfig = { architecture: 'amd64', os: 'linux', config: { Cmd: [] }, rootfs: { type: 'layers', diff_ids: [] } };
    assert.deepEqual(runConfigOf(config), { env: [], cmd: [] });
  });
});
