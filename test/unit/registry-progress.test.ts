/** The pull/push progress display: plain lines off a terminal, bars redrawn in place on one. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { PlainProgress, TtyProgress } from '../../src/cli/progress.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

function sink(isTTY: boolean): { out: NodeJS.WriteStream; text: () => string } {
  const s = new PassThrough();
  let text = '';
  s.on('data', (d: Buffer) => { text += d.toString(); });
  Object.assign(s, { isTTY, columns: 80 });
  return { out: s as unknown as NodeJS.WriteStream, text: () => text };
}

describe('progress display', () => {
  it('writes one plain line per event, no escape codes', () => {
    const { out, text } = sink(false);
    const p = new PlainProgress(out);
    p.note('Pulling x');
    p.start(D1, 'layer', 2048);
    p.advance(D1, 1024);
    p.status(D1, 'unpacking');
    p.status(D1, 'done');
    p.start(D2, 'config', 10);
    p.status(D2, 'exists');
    p.end();
    assert.equal(text(), `Pulling x\nBlob ${'1'.repeat(12)} (2.0KiB): done\nConfig ${'2'.repeat(12)} (10B): already exists\n`);
  });

  it('draws a bar per blob and redraws in place', async () => {
    const { out, text } = sink(true);
    const p = new TtyProgress(out);
    p.note('Pulling x');
    p.start(D1, 'layer', 1000);
    p.advance(D1, 500);
    await new Promise((r) => setTimeout(r, 150));
    assert.match(text(), new RegExp(`Copying blob ${'1'.repeat(12)} \\[=+>\\s+\\] 500B / 1000B\\n$`));
    p.status(D1, 'unpacked');
    p.end();
    assert.match(text(), /\x1b\[1A\x1b\[J/, 'cursor up and clear before the redraw');
    assert.match(text(), new RegExp(`Copying blob ${'1'.repeat(12)} unpacked\\n$`));
  });
});
