/** `--format` templates: the Go text/template subset (src/cli/go-template.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxError } from '../../src/errors.js';
import { compileTemplate, goString, isTemplate } from '../../src/cli/go-template.js';

const value = {
  Id: 'abc', Name: 'web', State: { Status: 'running', Running: true, Pid: 42 },
  Config: { Labels: { team: 'a', 'app.kubernetes.io/name': 'x' }, Env: ['A=1', 'B=2'], Cmd: null },
  Mounts: [{ Source: '/s1', Destination: '/d1' }, { Source: '/s2', Destination: '/d2' }],
};
const t = (template: string, v: unknown = value) => compileTemplate(template)(v);

describe('go templates', () => {
  it('prints fields and nested fields, as Go prints values', () => {
    assert.equal(t('{{.Id}} {{.State.Status}} {{.State.Pid}} {{.State.Running}}'), 'abc running 42 true');
    assert.equal(t('{{.Config.Env}}'), '[A=1 B=2]');
    assert.equal(t('{{.Config.Labels}}'), 'map[app.kubernetes.io/name:x team:a]');
    assert.equal(t('{{.Config.Cmd}}'), '<no value>');
    assert.equal(t('{{.}}', 'x'), 'x');
  });

  it('has json, index, join, upper, lower, len, println and pipes', () => {
    assert.equal(t('{{json .Config.Labels}}'), '{"team":"a","app.kubernetes.io/name":"x"}');
    assert.equal(t('{{index .Config.Labels "app.kubernetes.io/name"}}'), 'x');
    assert.equal(t('{{join .Config.Env ","}}'), 'A=1,B=2');
    assert.equal(t('{{upper .Name}}-{{lower "AB"}}-{{len .Mounts}}'), 'WEB-ab-2');
    assert.equal(t('{{.State | json}}'), '{"Status":"running","Running":true,"Pid":42}');
    assert.equal(t('{{println .Name}}'), 'web\n');
  });

  it('has if/else and range (the dot is the element), and trims with {{- -}}', () => {
    assert.equal(t('{{if .State.Running}}up{{else}}down{{end}}'), 'up');
    assert.equal(t('{{if .Config.Cmd}}cmd{{else}}none{{end}}'), 'none');
    assert.equal(t('{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}'), '/s1:/d1 /s2:/d2 ');
    assert.equal(t('{{range .Config.Cmd}}x{{else}}empty{{end}}'), 'empty');
    assert.equal(t('a  {{- .Name -}}  b'), 'awebb');
    assert.equal(t('{{.Id}}\\t{{.Name}}\\n'), 'abc\tweb\n');
  });

  it('names a wrong field (and its near miss) in one line with a hint', () => {
    for (const [template, why] of [['{{.id}}', /no field id \(did you mean Id\?\)/], ['{{.Nope}}', /no field Nope/], ['{{.Id', /unclosed/],
      ['{{if .Id}}x', /missing/], ['{{end}}', /without/], ['{{frobnicate .Id}}', /unknown function frobnicate/], ['{{.Name.First}}', /no field First/]] as const) {
      assert.throws(() => t(template), (e: unknown) => e instanceof SandboxError && why.test(e.message) && !!e.hint, template);
    }
  });

  it('knows a template from the json and table formats', () => {
    assert.ok(isTemplate('{{.Id}}'));
    assert.ok(!isTemplate('json'));
    assert.ok(!isTemplate(undefined));
    assert.equal(goString([1, 'a', null]), '[1 a <no value>]');
  });
});

describe('go templates see only the value\'s own fields (no JavaScript underneath)', () => {
  const fails = (template: string, why: RegExp) => assert.throws(() => t(template), (e: unknown) => {
    assert.ok(e instanceof SandboxError, `a SandboxError, not ${String(e)}`);
    assert.match(e.message, why);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });

  it('refuses prototype names as fields, at any depth', () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf']) {
      fails(`{{.${name}}}`, new RegExp(`no field ${name}`));
      fails(`{{.Config.${name}}}`, new RegExp(`no field ${name}`));
      fails(`{{.Config.Labels.${name}}}`, new RegExp(`no field ${name}`));
    }
    fails('{{.Config.Env.length}}', /no field length/);
    fails('{{.Name.length}}', /no field length/);
  });

  it('refuses prototype names as functions', () => {
    for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf']) {
      fails(`{{${name}}}`, new RegExp(`unknown function ${name}|${name} is neither a field`));
      fails(`{{.Name | ${name}}}`, new RegExp(`unknown function ${name}`));
    }
  });

  it('index: a map has only its own keys (a missing one is no value), a list takes an index in range', () => {
    assert.equal(t('{{index . "constructor"}}'), '<no value>');
    assert.equal(t('{{index .Config.Labels "__proto__"}}'), '<no value>');
    assert.equal(t('{{index .Config.Labels "toString"}}'), '<no value>');
    assert.equal(t('{{index .Config.Env 1}}'), 'B=2');
    fails('{{index .Config.Env "length"}}', /index of a list takes a number/);
    fails('{{index .Config.Env 5}}', /index 5 out of range/);
    fails('{{index .Name "x"}}', /index of web/);
  });

  it('any wrong template is one line naming the problem, never an internal error', () => {
    fails('{{"\\x"}}', /not a valid string/);
    fails('{{.Id', /unclosed/);
    fails(`${'{{if .Id}}'.repeat(20000)}${'{{end}}'.repeat(20000)}`, /nested more than 100 deep/);
    // A long template is shortened in the message.
    assert.throws(() => t(`${'x'.repeat(1000)}{{.Nope}}`), (e: Error) => e.message.length < 200);
  });
});
