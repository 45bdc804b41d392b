/**
 * `Network`: a user-defined network from code (as `sandbox network create` / `rm`).
 * Sandboxes started with `networks: [{ network, aliases }]` reach each other there by
 * name and alias.
 */
import { SandboxError } from '../../errors.js';
import { createNetwork, listNetworks, removeNetwork, type NetworkRecord } from '../networks.js';
import type { StorePaths } from '../../state/paths.js';
import { newSandboxId } from '../../state/sandboxes.js';
import { openStore } from './store.js';

export class Network {
  readonly paths: StorePaths;
  readonly record: NetworkRecord;

  private constructor(paths: StorePaths, record: NetworkRecord) {
    this.paths = paths;
    this.record = record;
  }

  get name(): string { return this.record.name; }
  get id(): string { return this.record.id; }

  /** Creates a network (default name `sandbox-net-` and 12 random hex digits), as `sandbox network create`. */
  static async create(options: { name?: string; root?: string; internal?: boolean; subnet?: string; labels?: Record<string, string> } = {}): Promise<Network> {
    try {
      const paths = openStore({ root: options.root });
      const record = await createNetwork(paths, {
        name: options.name ?? `sandbox-net-${newSandboxId().slice(0, 12)}`,
        ...(options.internal ? { internal: true } : {}),
        ...(options.subnet ? { subnet: options.subnet } : {}),
        ...(options.labels ? { labels: options.labels } : {}),
      });
      return new Network(paths, record);
    } catch (err) {
      throw err instanceof SandboxError ? err : new SandboxError(String((err as Error)?.message ?? err), { code: 'internal', cause: err });
    }
  }

  /** The networks of the store. */
  static list(options: { root?: string } = {}): Network[] {
    const paths = openStore({ root: options.root });
    return listNetworks(paths).map((r) => new Network(paths, r));
  }

  /** Removes it (it must have no sandboxes left on it unless `force`, which removes them too). */
  async remove(options: { force?: boolean } = {}): Promise<void> {
    await removeNetwork(this.paths, this.record.id, { force: !!options.force });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.remove({ force: true });
  }
}
