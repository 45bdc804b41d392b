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
