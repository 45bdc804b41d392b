/**
 * Random hex for ids and temp names, read straight from /dev/urandom: loading
 * node:crypto costs ~7 ms of start-up, which every `sandbox run` would pay.
 */
import { openSync, readSync, closeSync } from 'node:fs';

export function randomHex(bytes: number): string {
  const buf = Buffer.alloc(bytes);
  const fd = openSync('/dev/urandom', 'r');
  try {
    let off = 0;
    while (off < bytes) off += readSync(fd, buf, off, bytes - off, null);
  } finally {
    closeSync(fd);
  }
  return buf.toString('hex');
}
