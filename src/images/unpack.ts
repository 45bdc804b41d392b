/**
 * Image layers in and out of the store, through the native helper sandbox-layer run as
 * root of the user's namespace (so files keep owners from the subordinate id range):
 * - unpackLayerTar: one uncompressed OCI layer tar -> an empty directory. OCI whiteouts
 *   become overlay whiteouts; a layer that tries to reach outside the directory (`..`,
 *   absolute names, writing through symlinks, hard links out) is refused whole.
 * - layerDiffTar: an overlay upper directory -> an uncompressed OCI layer tar (for commit).
 * - layerListTar: the same archive without the files' contents (for `diff`).
 */
import { helperNoSpace, SandboxError } from '../errors.js';
import { helperPath } from '../runtime/host-tools.js';
import { startInUserns } from '../runtime/userns.js';

const PREFIX = /^sandbox-layer: /;

/** The helper's one line (`layer entry "x": why (hint: fix)`) as our error. */
function layerError(what: string) {
  return (reason: string | undefined, status: string): SandboxError => {
    if (!reason) return new SandboxError(`${what} failed (${status})`);
    const line = reason.replace(PREFIX, '');
    const full = helperNoSpace(line);
    if (full) return full;
    const m = /^(.*) \(hint: (.*)\)$/.exec(line);
    if (m) return new SandboxError(`${what}: ${m[1]}`, { hint: m[2] });
    // An entry the unpacker refused: a malformed or malicious layer, stopped before it wrote anything outside.
    if (/^layer entry /.test(line)) {
      return new SandboxError(`${what}: ${line}`, { hint: 'the image is malformed or malicious; it was refused and nothing outside its layer was written' });
    }
    return new SandboxError(`${what}: ${line}`);
  };
}

export interface UnpackOptions {
  signal?: AbortSignal;
  /** Warnings of a successful unpack (device nodes skipped, xattrs not kept); default: dropped. */
  onWarning?: (message: string) => void;
}

/** Extracts one uncompressed layer tar into `dir` (existing and empty). */
export async function unpackLayerTar(input: NodeJS.ReadableStream, dir: string, options: UnpackOptions = {}): Promise<void> {
  const run = startInUserns([helperPath('sandbox-layer'), 'unpack', dir], {
    stdin: input,
    captureStderr: true,
    ...(options.signal ? { signal: options.signal } : {}),
    failure: layerError('cannot unpack the layer'),
  });
  await run.done;
  if (options.onWarning) {
    for (const line of run.stderr().split('\n')) {
      const m = /^sandbox-layer: warning: (.*)$/.exec(line);
      if (m) options.onWarning(m[1]!);
    }
  }
}

/** An uncompressed layer tar of an overlay upper directory; `done` rejects when the helper fails. */
export function layerDiffTar(upperDir: string): { stream: NodeJS.ReadableStream; done: Promise<void> } {
  return upperTar('diff', upperDir);
}

/** layerDiffTar without the files' contents: every regular file an empty entry. */
export function layerListTar(upperDir: string): { stream: NodeJS.ReadableStream; done: Promise<void> } {
  return upperTar('list', upperDir);
}

function upperTar(mode: 'diff' | 'list', upperDir: string): { stream: NodeJS.ReadableStream; done: Promise<void> } {
  const run = startInUserns([helperPath('sandbox-layer'), mode, upperDir], {
    stdout: true,
    captureStderr: true,
    failure: layerError(`cannot read the changes in ${upperDir}`),
  });
  // Without a consumer the caller would never see the failure as a stream error.
  run.done.catch(() => {});
  return { stream: run.stdout!, done: run.done };
}
