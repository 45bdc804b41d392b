/**
 * `sandbox events [-f] [--since T] [--until T] [--filter KEY=VALUE]... [--format json]`:
 * the event journal (<data>/events.jsonl, see src/state/events.ts). Without -f it prints
 * the events recorded so far (or those in the --since/--until window) and exits, so
 * scripts can use it; -f then keeps printing new ones as any process appends them
 * (polling the file's size every 100 ms, reading from where it stopped), until --until
 * has passed or it is killed. Filters follow Docker: values of one key are ORed,
 * different keys ANDed.
 */
import type { CommandModule } from 'yargs';
import { setTimeout as sleep } from 'node:timers/promises';
import { SandboxError } from '../../errors.js';
import { readRecord } from '../../state/sandboxes.js';
import { eventsPath, type SandboxEvent } from '../../state/events.js';
import {
  formatEvent, inWindow, JournalReader, matchEvent, parseEventFilters, parseTimeArg, type SandboxLookup,
} from '../../state/event-query.js';
import type { StorePaths } from '../../state/paths.js';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';

interface EventsArgs extends GlobalArgs {
  follow?: boolean;
  stream?: boolean;
  since?: string;
  until?: string;
  filter?: string[];
  format?: string;
}

const POLL_MS = 100;

/** Looks sandboxes up by id in the store; cached until `clear()` (once per batch of events). */
class RecordLookup implements SandboxLookup {
  private cache = new Map<string, { labels: Record<string, string>; name: string } | null>();

  constructor(private readonly paths: StorePaths) {}

  private get(id: string): { labels: Record<string, string>; name: string } | null {
    let v = this.cache.get(id);
    if (v !== undefined) return v;
    v = null;
    if (/^[a-f0-9]{64}$/.test(id)) {
      try {
        const r = readRecord(this.paths, id);
        if (r) v = { labels: r.request?.labels ?? {}, name: r.name };
      } catch { /* unreadable: as if gone */ }
    }
    this.cache.set(id, v);
    return v;
  }

  labels(id: string): Record<string, string> | undefined {
    return this.get(id)?.labels;
  }

  name(id: string): string | undefined {
    return this.get(id)?.name;
  }

  clear(): void {
    this.cache.clear();
  }
}

/** Writes lines to stdout; a closed pipe (`| head`) ends the output quietly. */
class Output {
  closed = false;

  constructor() {
    process.stdout.on('error', () => { this.closed = true; });
  }

  async write(text: string): Promise<void> {
    if (this.closed || !text) return;
    if (process.stdout.write(text)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        process.stdout.off('drain', done).off('error', done).off('close', done);
        resolve();
      };
      process.stdout.on('drain', done).on('error', done).on('close', done);
    });
  }
}

function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

export const eventsCommand: CommandModule<GlobalArgs, EventsArgs> = {
  command: 'events',
  describe: 'Show the event journal (create, start, die, stop, ...); -f follows it',
  builder: (y) => y
    .option('follow', { alias: 'f', type: 'boolean', describe: 'Keep printing new events as they happen' })
    .option('stream', { type: 'boolean', describe: "Podman's spelling: --stream is -f; --stream=false prints the events so far and exits (without either, the default here)" })
    .option('since', { type: 'string', describe: 'Events from this time on: RFC 3339, Unix seconds, or a duration ago (10m)' })
    .option('until', { type: 'string', describe: 'Events up to this time (same forms, a duration counted from now on, as Podman); with -f, stop then' })
    .option('filter', {
      type: 'string', array: true, requiresArg: true,
      describe: 'container=NAME|ID, event=ACTION, type=container|volume|image, label=KEY[=VALUE] (repeatable)',
    })
    .option('format', { type: 'string', describe: 'json: one JSON object per line' }),
  handler: async (argv) => {
    const json = argv.format === 'json' || argv.format === '{{json .}}';
    if (argv.format !== undefined && !json) {
      throw new SandboxError(`unknown --format ${JSON.stringify(argv.format)}`, { hint: 'use --format json, or no --format for lines' });
    }
    const now = Date.now();
    const since = argv.since !== undefined ? parseTimeArg(argv.since, now, '--since') : undefined;
    const until = argv.until !== undefined ? parseTimeArg(argv.until, now, '--until') : undefined;
    const filters = parseEventFilters(argv.filter ?? []);
    const paths = storePathsFromArgs(argv);
    const lookup = new RecordLookup(paths);
    const reader = new JournalReader(eventsPath(paths));
    const out = new Output();

    const show = async (events: SandboxEvent[]): Promise<void> => {
      lookup.clear(); // labels and names may have changed since the last batch
      let text = '';
      for (const e of events) {
        if (!inWindow(e, since, until) || !matchEvent(e, filters, lookup)) continue;
        text += (json ? JSON.stringify(e) : formatEvent(e)) + '\n';
      }
      await out.write(text);
    };

    await show(reader.read());
    if (!(argv.stream ?? argv.follow)) return;
    while (!out.closed) {
      const last = until !== undefined && nowNs() > until; // one more read for what came before it
      if (reader.changed()) await show(reader.read());
      if (last) break;
      await sleep(POLL_MS);
    }
  },
};
