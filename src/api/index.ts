/**
 * The typed library API. The CLI is one of its users; tests are another.
 *
 *   import { Sandbox } from 'sandbox';
 *   await using box = await Sandbox.start({ image: 'host', command: ['sleep', 'infinity'] });
 *   const { stdout } = await box.exec(['id', '-u']);
 *
 * Below it, the store functions the CLI's commands call:
 *
 *   import { openStore, runRequest, run } from 'sandbox';
 *   const store = openStore({ root: '/tmp/my-test-store' });        // or XDG defaults
 *   const { exitCode } = await run(store, runRequest('host', ['sh', '-c', 'id -u'], { network: 'none' }));
 */
import type { RunRequest } from '../types.js';

export * from '../types.js';
export { SandboxError } from '../errors.js';
export type { StorePaths } from '../state/paths.js';
export { runForeground as run, HOST_IMAGE, type RunOutcome, type RunHooks } from './run.js';
export { importTarball, type ImportOptions } from '../images/import.js';
export { pullImage, type PullOptions } from '../images/pull.js';
export { pushImage, type PushOptions } from '../images/push.js';
export { loadArchive, type LoadOptions, type LoadedImage } from '../images/load.js';
export { saveImages, type SaveOptions } from '../images/save.js';
export { commitSandbox, type CommitOptions } from '../images/commit.js';
export { exportSandbox } from './export.js';
export {
  listImages, findImage, tagImage, untagImage, removeImages, pruneImages, inspectImage, imageHistory,
  type ImageSummary, type RemoveImagesReport, type PruneImagesReport, type HistoryRow,
} from './images.js';
export { runDoctor, type DoctorReport } from '../doctor/index.js';
export {
  createNetwork, removeNetwork, pruneNetworks, listNetworks, findNetwork, connectNetwork, disconnectNetwork,
  type CreateNetworkOptions, type NetworkRecord,
} from './networks.js';

/** A RunRequest with the CLI's defaults (`--rm`, no terminal, slirp4netns), changed by `overrides`. */
export function runRequest(image: string, command: string[] = [], overrides: Partial<RunRequest> = {}): RunRequest {
  return {
    image, command, remove: true, detach: false, interactive: false, tty: false, env: {}, volumes: [], tmpfs: [],
    readOnly: false, network: 'slirp4netns', capAdd: [], capDrop: [], noNewPrivileges: false, labels: {},
    ...overrides,
  };
}

// The Sandbox class and its companions (src/api/sdk/).
export { openStore } from './sdk/store.js';
export {
  Sandbox, type SandboxStartOptions, type StoreOptions, type MountOptions, type ExecOptions, type ExecResult, type SandboxProcess,
} from './sdk/sandbox.js';
export { Network } from './sdk/network.js';
export { Image } from './sdk/image.js';
export type { WaitStrategy, WaitTarget } from './sdk/wait-types.js';
export { Wait, waitUntilReady, startupTimeoutError, type HttpWaitOptions, type WaitHealthStatus } from './sdk/wait.js';
export type { SandboxErrorCode, SandboxErrorOptions } from '../errors.js';
export type { SandboxView } from './lifecycle.js';
