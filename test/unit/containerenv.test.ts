/** /run/.containerenv's content and the `container` variable (src/runtime/containerenv.ts), and inspect's {{.ID}}. Pure. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CONTAINER_ENV_VALUE, containerEnvContent } from '../../src/runtime/containerenv.js';
import { inspectTemplate } from '../../src/cli/format.js';

const input = { name: 'web', id: 'a'.repeat(64), image: 'localhost/bb:latest', imageId: 'b'.repeat(64), engine: 'sandbox-1.2.3', rootless: true };

describe('/run/.containerenv', () => {
  it('is empty unless --privileged, as Podman writes it', () => {
    assert.equal(containerEnvContent({ ...input, privileged: false }), '');
  });

  it('with --privileged: engine, name, id, image, imageid, rootless in Podman\'s KEY="VALUE" lines', () => {
    assert.equal(containerEnvContent({ ...input, privileged: true }), [
      'engine="sandbox-1.2.3"', 'name="web"', `id="${'a'.repeat(64)}"`, 'image="localhost/bb:latest"', `imageid="${'b'.repeat(64)}"`, 'rootless=1', '',
    ].join('\n'));
    assert.match(containerEnvContent({ ...input, privileged: true, rootless: false }), /^rootless=0$/m);
  });

  it('quotes what a shell sourcing it would misread', () => {
    assert.match(containerEnvContent({ ...input, privileged: true, image: 'a"b\\c\nd' }), /^image="a\\"b\\\\c d"$/m);
  });

  it('the container variable is Podman\'s word', () => {
    assert.equal(CONTAINER_ENV_VALUE, 'podman');
  });
});

describe('inspect templates', () => {
  it('{{.ID}} reads as {{.Id}}, as Podman takes both; a nested or longer name is left alone', () => {
    assert.equal(inspectTemplate('{{.ID}} {{json .ID}} {{.Config.ID}} {{.IDs}} {{.Id}}'), '{{.Id}} {{json .Id}} {{.Config.ID}} {{.IDs}} {{.Id}}');
  });
});
