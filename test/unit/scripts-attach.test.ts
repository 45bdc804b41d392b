/**
 * Issue 18, item 5 (the `attach` part): the run options scripts send, as plain data —
 * --attach/-a, --timeout, --tz, --pidfile and --conmon-pidfile.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRunArgv } from '../../src/cli/run-option-table.js';
import { parseAttach, toRunRequest } from '../../src/cli/run-request.js';
import { timezoneFile, ZONEINFO } from '../../src/runtime/timezone.js';
import { withHostUsers } from '../../src/runtime/host-users.js';
import { throwsSandbox } from './assert-sandbox-error.js';
import { existsSync, realpathSync } from 'node:fs';

const req = (argv: string[]) => toRunRequest(parseRunArgv(argv), { env: {}, cwd: '/w', readFile: () => { throw new Error('no files'); } });

describe('--attach', () => {
  it('keeps the named streams, in order, once each, any case', () => {
    assert.deepEqual(parseAttach(['STDERR', 'stdout', 'stderr'], { detach: false }), { attach: ['stdout', 'stderr'] });
    assert.deepEqual(req(['-a', 'stdout', 'bb']).attach, ['stdout']);
    assert.deepEqual(req(['--attach=stderr', '--attach', 'stdin', 'bb']).attach, ['stdin', 'stderr']);
  });
  it('without stdout and stderr runs in the background, as Podman', () => {
    assert.deepEqual(parseAttach(['stdin'], { detach: false }), { attach: ['stdin'], detach: true });
    assert.equal(req(['-a', 'stdin', 'bb']).detach, true);
  });
  it('is ignored with -d, absent without -a, and refuses other streams', () => {
    assert.deepEqual(parseAttach(['stdout'], { detach: true }), {});
    assert.equal(req(['bb']).attach, undefined);
    throwsSandbox(() => req(['-a', 'bogus', 'bb']), 'invalid stream "bogus" for --attach', /stdin, stdout or stderr/);
  });
});

describe('--timeout', () => {
  it('takes whole seconds; 0 is none', () => {
    assert.equal(req(['--timeout', '5', 'bb']).timeout, 5);
    assert.equal(req(['--timeout=0', 'bb']).timeout, undefined);
    throwsSandbox(() => req(['--timeout', '1.5', 'bb']), 'invalid --timeout "1.5"');
    throwsSandbox(() => req(['--timeout=-1', 'bb']), 'invalid --timeout "-1"');
  });
});

describe('--pidfile, --conmon-pidfile', () => {
  it('are host paths from the cwd; empty is refused', () => {
    const r = req(['--pidfile', 'p', '--conmon-pidfile', '/run/c', 'bb']);
    assert.equal(r.pidFile, '/w/p');
    assert.equal(r.conmonPidFile, '/run/c');
    throwsSandbox(() => req(['--pidfile=', 'bb']), '--pidfile needs a file name');
  });
});

describe('--tz', () => {
  const zones = existsSync(`${ZONEINFO}/Europe/Berlin`);
  it('a zone is its file of the zoneinfo, bound read-only over /etc/localtime', { skip: !zones && 'no tzdata here' }, () => {
    assert.equal(timezoneFile('Europe/Berlin'), realpathSync(`${ZONEINFO}/Europe/Berlin`));
    const v = req(['--tz', 'Europe/Berlin', 'bb']).volumes.find((m) => m.target === '/etc/localtime');
    assert.deepEqual(v, { kind: 'bind', source: realpathSync(`${ZONEINFO}/Europe/Berlin`), target: '/etc/localtime', readOnly: true });
  });
  it('local is the host\'s /etc/localtime', { skip: !existsSync('/etc/localtime') && 'no /etc/localtime here' }, () => {
    assert.equal(timezoneFile('local'), realpathSync('/etc/localtime'));
  });
  it('refuses paths, unknown zones, directories and nothing', () => {
    throwsSandbox(() => timezoneFile('../../etc/passwd'), 'invalid --tz "../../etc/passwd": not a zone name', /Europe\/Berlin/);
    throwsSandbox(() => timezoneFile('/etc/passwd'), 'invalid --tz "/etc/passwd": not a zone name');
    throwsSandbox(() => timezoneFile('Nowhere/Bad'), `unknown time zone "Nowhere/Bad": ${ZONEINFO}/Nowhere/Bad does not exist`);
    if (existsSync(`${ZONEINFO}/Europe`)) throwsSandbox(() => timezoneFile('Europe'), `unknown time zone "Europe": ${ZONEINFO}/Europe is not a zone file`);
    throwsSandbox(() => timezoneFile(''), '--tz needs a time zone');
  });
});

describe('--hostuser', () => {
  const me = { name: 'me', uid: 1001, gid: 1002, gecos: 'Me Myself' };
  it('adds NAME:*:UID:GID:GECOS:WORKDIR:/bin/sh, as Podman', () => {
    assert.equal(withHostUsers('root:x:0:0:root:/root:/bin/sh\n', [me], '/srv'), 'root:x:0:0:root:/root:/bin/sh\nme:*:1001:1002:Me Myself:/srv:/bin/sh\n');
    assert.equal(withHostUsers('root:x:0:0::/root:/bin/sh', [me], '/'), 'root:x:0:0::/root:/bin/sh\nme:*:1001:1002:Me Myself:/:/bin/sh\n');
    assert.equal(withHostUsers('', [me], '/'), 'me:*:1001:1002:Me Myself:/:/bin/sh\n');
  });
  it('leaves a user the file has, by name or by uid, and adds each once', () => {
    assert.equal(withHostUsers('me:x:5:5::/:/bin/sh\n', [me], '/'), 'me:x:5:5::/:/bin/sh\n');
    assert.equal(withHostUsers('other:x:1001:5::/:/bin/sh\n', [me], '/'), 'other:x:1001:5::/:/bin/sh\n');
    assert.equal(withHostUsers('', [me, me], '/'), 'me:*:1001:1002:Me Myself:/:/bin/sh\n');
  });
  it('keeps the names as given in the request', () => {
    assert.deepEqual(req(['--hostuser', 'a', '--hostuser=1000', 'bb']).hostUsers, ['a', '1000']);
    assert.equal(req(['bb']).hostUsers, undefined);
  });
});

describe('--preserve-fds', () => {
  it('takes a count for a foreground run; 0 is none', () => {
    assert.equal(req(['--preserve-fds', '2', 'bb']).preserveFds, 2);
    assert.equal(req(['--preserve-fds=0', 'bb']).preserveFds, undefined);
    throwsSandbox(() => req(['--preserve-fds', 'x', 'bb']), 'invalid --preserve-fds "x"');
    throwsSandbox(() => req(['-d', '--preserve-fds', '1', 'bb']), '--preserve-fds needs a foreground run: a sandbox in the background outlives the fds of this process');
  });
});
