/**
 * Podman's (and Docker's) detach keys: `ctrl-p,ctrl-q` by default, a comma-separated list
 * where each item is one character or `ctrl-X` (X a letter, or one of @ [ \ ] ^ _).
 * An empty string means no detach keys at all. Pure: the bytes the attach helper watches for.
 */
import { SandboxError } from '../errors.js';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';
/** Its bytes. */
export const DEFAULT_DETACH_BYTES: readonly number[] = [0x10, 0x11];

/** Bytes as the helper takes them (--detach-keys HEX). */
export function detachKeysHex(bytes: readonly number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
}

const CTRL_SPECIAL: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };

/** The bytes of `spec`, or throws a SandboxError saying what is wrong. */
export function parseDetachKeys(spec: string): number[] {
  if (spec === '') return [];
  return spec.split(',').map((item) => {
    const ctrl = /^ctrl-(.)$/.exec(item);
    if (ctrl) {
      const c = ctrl[1]!;
      if (/^[a-zA-Z]$/.test(c)) return c.toLowerCase().charCodeAt(0) - 96;
      const special = CTRL_SPECIAL[c];
      if (special !== undefined) return special;
    } else if (item.length === 1) {
      return item.charCodeAt(0);
    }
    throw new SandboxError(`invalid detach keys "${spec}": "${item}" is not a key`, {
      hint: 'give a comma-separated list of single characters and ctrl-<letter> or ctrl-<one of @[\\]^_>, e.g. ctrl-p,ctrl-q ("" for none)',
    });
  });
}

