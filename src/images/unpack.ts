/**
 * PLACEHOLDER until helpers/layer.c lands: unpacks a layer with GNU tar as root of the
 * user's namespace (no OCI whiteout conversion, GNU tar's own path checks).
 */
import { runInUserns } from '../runtime/userns.js';

export async function unpackLayerTar(input: NodeJS.ReadableStream, dir: string, options: { signal?: AbortSignal } = {}): Promise<void> {
  await runInUserns(
    ['tar', '-x', '-f', '-', '-C', dir, '--numeric-owner', '--same-owner', '--same-permissions', '--exclude=./dev/*', '--exclude=dev/*'],
    { stdin: input, captureStderr: true, ...(options.signal ? { signal: options.signal } : {}) },
  );
}
