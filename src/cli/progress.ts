/**
 * Shows what a pull or push is doing. On a terminal: one line per blob with a bar,
 * redrawn in place at most 10 times a second. Anywhere else (logs, CI, pipes): one
 * plain line per thing that happened, no bars, no escape codes. Both go to stderr, so
 * that stdout carries only the result (the image id, the digest).
 */
import type { ProgressSink } from '../images/registry/progress.js';
import { humanSize } from './format.js';

/** Sizes in transfer progress: binary units, one decimal ("2.0KiB"). */
const BYTES = { binary: true, fixed: 1 };

function short(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

const STATES: Record<string, string> = {
  done: 'done', exists: 'already exists', unpacking: 'unpacking', unpacked: 'unpacked',
  pushed: 'pushed', mounted: 'mounted from another repository', skipped: 'already at the registry',
};

/** Plain lines, for a log: no bars. */
export class PlainProgress implements ProgressSink {
  private readonly sizes = new Map<string, { what: string; total: number }>();
  constructor(private readonly out: NodeJS.WritableStream) {}
  note(text: string): void { this.out.write(`${text}\n`); }
  start(digest: string, what: string, total: number): void { this.sizes.set(digest, { what, total }); }
  advance(_digest: string, _bytes: number): void {}
  status(digest: string, text: string): void {
    if (text === 'unpacking') return; // the line that says "unpacked" is enough
    const b = this.sizes.get(digest);
    this.out.write(`${b?.what === 'config' ? 'Config' : 'Blob'} ${short(digest)}${b ? ` (${humanSize(b.total, BYTES)})` : ''}: ${STATES[text] ?? text}\n`);
  }
  end(): void {}
}

interface Row { digest: string; what: string; total: number; done: number; state: string }

/** Bars redrawn in place, for a terminal. */
export class TtyProgress implements ProgressSink {
  private readonly rows: Row[] = [];
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly out: NodeJS.WriteStream) {}

  private row(digest: string): Row | undefined { return this.rows.find((r) => r.digest === digest); }

  note(text: string): void {
    this.clear();
    this.out.write(`${text}\n`);
    this.draw();
  }
  start(digest: string, what: string, total: number): void {
    if (!this.row(digest)) this.rows.push({ digest, what, total, done: 0, state: 'copying' });
    this.schedule();
  }
  advance(digest: string, bytes: number): void {
    const r = this.row(digest);
    if (r) r.done += bytes;
    this.schedule();
  }
  status(digest: string, text: string): void {
    const r = this.row(digest);
    if (r) r.state = text;
    this.schedule();
  }
  end(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.clear();
    this.draw();
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => { this.timer = undefined; this.clear(); this.draw(); }, 100);
  }
  private clear(): void {
    if (this.drawn) this.out.write(`\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }
  private draw(): void {
    const width = Math.max(40, (this.out.columns || 80) - 1);
    for (const r of this.rows) {
      const label = `${r.what === 'config' ? 'Copying config' : 'Copying blob'} ${short(r.digest)}`;
      let text: string;
      if (r.state === 'copying') {
        const frac = r.total > 0 ? Math.min(1, r.done / r.total) : 0;
        const sizes = `${humanSize(r.done, BYTES)} / ${humanSize(r.total, BYTES)}`;
        const barWidth = Math.max(10, Math.min(30, width - label.length - sizes.length - 5));
        const full = Math.round(frac * barWidth);
        text = `${label} [${'='.repeat(Math.max(0, full - 1))}${full ? '>' : ''}${' '.repeat(barWidth - full)}] ${sizes}`;
      } else {
        text = `${label} ${STATES[r.state] ?? r.state}`;
      }
      this.out.write(`${text.slice(0, width)}\n`);
    }
    this.drawn = this.rows.length;
  }
}

/** Bars on a terminal, plain lines elsewhere. */
export function progressFor(out: NodeJS.WriteStream = process.stderr): ProgressSink {
  return out.isTTY ? new TtyProgress(out) : new PlainProgress(out);
}
