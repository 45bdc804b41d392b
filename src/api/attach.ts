/**
 * `attach`: our stdin, stdout and stderr joined to a running sandbox, through the socket
 * its monitor listens on (helpers/launch/attach.c). Several attachers may be joined at
 * once; each sees the output from when it joined (earlier output is in `logs`). Detaching
 * (the detach keys) leaves the sandbox running; otherwise we end with it, with its status.
 */
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { findSandbox } from '../state/sandboxes.js';
import { attachSocketPath } from '../state/sandbox-dir.js';
import { currentState } from '../state/status.js';
import { helperPath } from '../runtime/host-tools.js';
import { runPlainHelper } from '../runtime/launch.js';
import { Flag } from '../runtime/protocol.js';
import { detachKeysHex } from '../runtime/detach-keys.js';

export interface AttachOptions {
  /** Output only: our stdin is not passed on (always so for a sandbox run without -i). */
  noStdin?: boolean;
  /** The bytes that detach when typed in a row (none: empty). */
  detachKeys: readonly number[];
  /** Pass the signals we get on to the sandbox (Podman's default). */
  sigProxy: boolean;
}

/** Attaches to the sandbox `ref` until it ends (its exit status) or we detach (0). */
export async function attachSandbox(paths: StorePaths, ref: string, options: AttachOptions): Promise<number> {
  const record = findSandbox(paths, ref);
  const state = currentState(paths, record);
  if (state.status !== 'running') {
    throw new SandboxError(`you can only attach to running sandboxes: ${record.name} is ${state.status}`, {
      hint: `start it and attach in one step: sandbox start -ai ${record.name}`,
    });
  }
  const { tty, interactive } = record.request;
  const args = [Flag.attachTo, attachSocketPath(paths, record.id)];
  if (tty) args.push(Flag.tty);
  if (options.noStdin || !interactive) args.push(Flag.noStdin);
  if (options.detachKeys.length) args.push(Flag.detachKeys, detachKeysHex(options.detachKeys));
  if (options.sigProxy) args.push(Flag.sigProxy);
  return runPlainHelper(helperPath(), args, { stdin: 'inherit', forwardSignals: true });
}
