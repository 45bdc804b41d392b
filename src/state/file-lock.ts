/**
 * The one wrapper of proper-lockfile: a lock directory next to what it guards, stale
 * after a while (a command killed while holding it must not block the next for long),
 * waited for with short pauses. Loaded on first use, not at start-up: only the commands
 * that lock pay for it (never `run` or `exec`'s usual path).
 */
export interface FileLockOptions {
  /** The directory the lock guards (it must exist). */
  dir: string;
  /** The lock's own path (a directory proper-lockfile makes). */
  lockPath: string;
  /** A holder that stopped refreshing it this long ago is taken to be dead. */
  staleMs: number;
  /** How long to wait for a live holder before `busy` is thrown. */
  waitMs: number;
  /** The error when the lock stays held past waitMs. */
  busy: (cause: unknown) => Error;
  /** The error when `dir` is gone (default: the file system's). */
  missing?: (cause: unknown) => Error;
  /** `dir` may be renamed away while held (a sandbox being removed): then nothing is refreshed or released. */
  mayVanish?: boolean;
}

/** Runs `fn` holding the lock described by `opts`. */
export async function withFileLock<T>(opts: FileLockOptions, fn: () => T | Promise<T>): Promise<T> {
  const { default: lockfile } = await import('proper-lockfile');
  const lockOptions = {
    lockfilePath: opts.lockPath,
    stale: opts.staleMs,
    realpath: false,
    ...(opts.mayVanish ? { onCompromised: () => {} } : {}),
  };
  const deadline = Date.now() + opts.waitMs;
  let release: () => Promise<void>;
  for (let pause = 5; ; pause = Math.min(pause * 2, 50)) {
    try {
      release = await lockfile.lock(opts.dir, lockOptions);
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && opts.missing) throw opts.missing(err);
      if (code !== 'ELOCKED') throw err;
      if (Date.now() >= deadline) throw opts.busy(err);
      await new Promise((r) => setTimeout(r, pause));
    }
  }
  try {
    return await fn();
  } finally {
    try {
      await release();
    } catch (err) {
      if (!opts.mayVanish) throw err; // else: the directory went away with its lock
    }
  }
}
