/**
 * Wait strategies: when a sandbox that `Sandbox.start` started is ready for a test, in the
 * shape of Testcontainers' `Wait` (`forLogMessage`, `forListeningPort`, `forHttp`,
 * `forHealthy`, `forExec`, `forAll`). A strategy only looks: it polls the sandbox through
 * the small `WaitTarget` interface (a `Sandbox` implements it) until it is satisfied, or
 * until the signal it is given is aborted. The time limit is the caller's: `waitUntilReady`
 * below runs a strategy against `startupTimeoutMs`, and on time-out throws one
 * `SandboxError` (code `startup-timeout`) naming the strategy, what it last saw, and the
 * sandbox's last log lines (`startupTimeoutError`). The contract, WaitTarget and WaitStrategy,
 * is wait-types.ts.
 *
 * Polls start every 10 ms and back off to 250 ms (`backoff`): a service ready in 30 ms is
 * seen in ~40, one that takes seconds costs a handful of checks a second.
 */
import { connect } from 'node:net';
import { request } from 'node:http';
import { SandboxError } from '../../errors.js';
import { LogFollower } from '../../state/logs.js';
import type { WaitStrategy, WaitTarget } from './wait-types.js';

export type { WaitStrategy, WaitTarget } from './wait-types.js';

/** A sandbox's health check state (Podman's words), as `forHealthy` reads it. */
export type WaitHealthStatus = Awaited<ReturnType<NonNullable<WaitTarget['health']>>>;

// ---------------------------------------------------------------------------------------
// Polling

/** Poll delays in ms: `first`, then each `factor` times the one before, at most `max`. */
export function backoff(first = 10, max = 250, factor = 1.5): () => number {
  let next = first;
  return () => {
    const d = next;
    next = Math.min(max, Math.round(next * factor));
    return d;
  };
}

/** Resolves after `ms`, or rejects with the signal's reason once it is aborted. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) { reject(signal.reason); return; }
    const onAbort = (): void => { clearTimeout(timer); reject(signal.reason); };
    const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** `p`, or the signal's reason if it is aborted first (a check that hangs cannot hold a wait past its time). */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e) => { signal.removeEventListener('abort', onAbort); reject(e); },
    );
  });
}

/** Runs `check` until it says true, backing off between runs; rejects when aborted or when `check` throws. */
async function pollUntil(signal: AbortSignal, check: () => Promise<boolean> | boolean): Promise<void> {
  const delay = backoff();
  for (;;) {
    if (signal.aborted) throw signal.reason;
    if (await abortable(Promise.resolve().then(check), signal)) return;
    await sleep(delay(), signal);
  }
}

/** A strategy whose `lastSeen` is what its check noted last. */
abstract class PollingStrategy implements WaitStrategy {
  protected seen: string | undefined;
  abstract describe(): string;
  abstract waitUntilReady(target: WaitTarget, signal: AbortSignal): Promise<void>;
  lastSeen(): string | undefined { return this.seen; }
}

// ---------------------------------------------------------------------------------------
// Log messages

/** A pattern as a matcher of one line; a RegExp loses `g`/`y` (whose `test` keeps state between lines). */
function lineMatcher(pattern: RegExp | string): (line: string) => boolean {
  if (typeof pattern === 'string') return (line) => line.includes(pattern);
  const re = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
  return (line) => re.test(line);
}

class LogMessageStrategy extends PollingStrategy {
  constructor(private readonly pattern: RegExp | string, private readonly times: number) { super(); }

  describe(): string {
    const what = typeof this.pattern === 'string' ? JSON.stringify(this.pattern) : String(this.pattern);
    return `log message ${what}${this.times === 1 ? '' : ` ${this.times} times`}`;
  }

  async waitUntilReady(target: WaitTarget, signal: AbortSignal): Promise<void> {
    const matches = lineMatcher(this.pattern);
    const file = target.logFile?.();
    let count = 0;
    const note = (): void => { this.seen = `${count} matching line${count === 1 ? '' : 's'} of ${this.times}`; };
    if (file !== undefined) {
      // Only the bytes the log gained since the last look are read (state/logs.ts LogFollower).
      const follower = new LogFollower(file);
      try {
        await pollUntil(signal, () => {
          for (const record of follower.read()) if (matches(record.text)) count++;
          note();
          return count >= this.times;
        });
      } finally {
        follower.close();
      }
      return;
    }
    // A target without a log file to follow: its whole log, each time.
    await pollUntil(signal, async () => {
      count = (await target.logs()).split('\n').filter(matches).length;
      note();
      return count >= this.times;
    });
  }
}

// ---------------------------------------------------------------------------------------
// Listening ports

/** TCP state LISTEN in /proc/net/tcp{,6} (include/net/tcp_states.h: TCP_LISTEN = 10). */
const TCP_LISTEN = '0A';

/**
 * The local ports of the listening sockets in the text of /proc/net/tcp and/or
 * /proc/net/tcp6 (header lines and anything malformed are skipped). Pure.
 */
export function parseListeningPorts(text: string): Set<number> {
  const ports = new Set<number>();
  for (const line of text.split('\n')) {
    // `  0: 0100007F:1F90 00000000:0000 0A ...`: sl, local address:port, remote, state.
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || !/^\d+:$/.test(f[0] ?? '') || f[3] !== TCP_LISTEN) continue;
    const m = /^[0-9A-Fa-f]+:([0-9A-Fa-f]{4})$/.exec(f[1] ?? '');
    if (m) ports.add(parseInt(m[1]!, 16));
  }
  return ports;
}

/** The TCP ports something listens on inside the sandbox's network namespace. */
async function listeningPorts(target: WaitTarget): Promise<Set<number>> {
  // /proc/net is the reader's network namespace: read from inside, through exec.
  const r = await target.exec(['cat', '/proc/net/tcp', '/proc/net/tcp6'], { timeoutMs: 5000 });
  if (r.exitCode === 126 || r.exitCode === 127) {
    throw new SandboxError('Wait.forListeningPort reads /proc/net/tcp inside the sandbox with cat, which its image lacks', {
      code: 'invalid-option',
      hint: 'wait with Wait.forHttp (a published port), Wait.forLogMessage or Wait.forExec instead',
    });
  }
  // Without IPv6, /proc/net/tcp6 is missing: cat fails, having printed the other file.
  return parseListeningPorts(r.stdout);
}

/** The host port a container port is published at, undefined when it is not published. */
function publishedAt(target: WaitTarget, port: number): number | undefined {
  try {
    return target.mappedPort(port, 'tcp');
  } catch {
    return undefined;
  }
}

/** True when a TCP connection to host:port is accepted within `ms`. */
function accepts(host: string, port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => { socket.destroy(); resolve(ok); };
    socket.setTimeout(ms, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

class ListeningPortStrategy extends PollingStrategy {
  constructor(private readonly port: number | undefined) { super(); }

  describe(): string {
    return this.port === undefined ? 'listening ports' : `listening port ${this.port}/tcp`;
  }

  async waitUntilReady(target: WaitTarget, signal: AbortSignal): Promise<void> {
    const wanted = this.port !== undefined ? [this.port] : target.exposedPorts?.() ?? [];
    await pollUntil(signal, async () => {
      const listening = await listeningPorts(target);
      if (wanted.length === 0) {
        this.seen = 'nothing listens on any TCP port inside';
        return listening.size > 0;
      }
      for (const port of wanted) {
        if (!listening.has(port)) { this.seen = `nothing listens on ${port}/tcp inside`; return false; }
        // A published port is forwarded by a helper that may accept before it can pass on: try it.
        const hostPort = publishedAt(target, port);
        if (hostPort !== undefined && !(await accepts(target.host, hostPort, 1000))) {
          this.seen = `${port}/tcp listens inside, but ${target.host}:${hostPort} does not accept connections yet`;
          return false;
        }
      }
      return true;
    });
  }
}

// ---------------------------------------------------------------------------------------
// A command

/** One line of a command's output, short, for an error message. */
function gist(text: string): string {
  const line = text.trim().split('\n').pop() ?? '';
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}

class ExecStrategy extends PollingStrategy {
  constructor(private readonly argv: string[], private readonly exitCode: number) { super(); }

  describe(): string {
    return `command ${JSON.stringify(this.argv)} to exit ${this.exitCode}`;
  }

  async waitUntilReady(target: WaitTarget, signal: AbortSignal): Promise<void> {
    if (this.argv.length === 0) throw new SandboxError('Wait.forExec needs a command', { code: 'invalid-option', hint: 'Wait.forExec(["pg_isready"])' });
    await pollUntil(signal, async () => {
      const r = await target.exec(this.argv, { timeoutMs: 10_000 });
      const said = gist(r.stderr) || gist(r.stdout);
      this.seen = `exit ${r.exitCode}${said ? `: ${said}` : ''}`;
      return r.exitCode === this.exitCode;
    });
  }
}

// ---------------------------------------------------------------------------------------
// HTTP

export interface HttpWaitOptions {
  /** The status wanted (default 200), or a check of the status and body. */
  status?: number | ((status: number, body: string) => boolean);
  /** Default GET. */
  method?: string;
  /** Request headers. */
  headers?: Record<string, string>;
}

/** The body is read up to this much: enough for a health endpoint's answer. */
const HTTP_BODY_MAX = 64 * 1024;

function httpGet(host: string, port: number, path: string, method: string, headers: Record<string, string>, signal: AbortSignal): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method, headers, timeout: 2000, signal }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (body.length < HTTP_BODY_MAX) body += d;
        else res.destroy();
      });
      res.on('close', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 2 s')));
    req.on('error', reject);
    req.end();
  });
}

class HttpStrategy extends PollingStrategy {
  constructor(private readonly path: string, private readonly port: number, private readonly options: HttpWaitOptions) { super(); }

  describe(): string {
    const { status = 200, method = 'GET' } = this.options;
    return `HTTP ${method} ${this.path} on port ${this.port} ${typeof status === 'number' ? `to answer ${status}` : 'to pass its check'}`;
  }

  async waitUntilReady(target: WaitTarget, signal: AbortSignal): Promise<void> {
    const hostPort = publishedAt(target, this.port);
    if (hostPort === undefined) {
      throw new SandboxError(`Wait.forHttp: port ${this.port} is not published`, {
        code: 'port-not-published',
        hint: `publish it: ports: [${this.port}]`,
      });
    }
    const { status = 200, method = 'GET', headers = {} } = this.options;
    const path = this.path.startsWith('/') ? this.path : `/${this.path}`;
    await pollUntil(signal, async () => {
      try {
        const r = await httpGet(target.host, hostPort, path, method, headers, signal);
        this.seen = `HTTP ${r.status}${r.body ? `: ${gist(r.body)}` : ''}`;
        return typeof status === 'number' ? r.status === status : status(r.status, r.body);
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        this.seen = `no HTTP answer at ${target.host}:${hostPort}: ${(err as Error).message}`;
        return false;
      }
    });
  }
}

// ---------------------------------------------------------------------------------------
// Health check

class HealthyStrategy extends PollingStrategy {
  describe(): string {
    return 'health check to pass';
  }

  async waitUntilReady(target: WaitTarget, signal: AbortSignal): Promise<void> {
    if (!target.health) {
      throw new SandboxError('Wait.forHealthy: this sandbox cannot report its health', { code: 'invalid-option' });
    }
    const health = target.health.bind(target);
    await pollUntil(signal, async () => {
      const status = await health();
      if (status === undefined) {
        throw new SandboxError(`sandbox ${target.id.slice(0, 12)} has no health check to wait for`, {
          code: 'invalid-option',
          hint: 'use an image with a HEALTHCHECK, or wait with another strategy (Wait.forExec runs a command of yours)',
        });
      }
      this.seen = `health ${status}`;
      return status === 'healthy';
    });
  }
}

// ---------------------------------------------------------------------------------------
// All of them

class AllStrategy implements WaitStrategy {
  constructor(private readonly strategies: WaitStrategy[]) {}

  describe(): string {
    return `all of: ${this.strategies.map((s) => s.describe()).join('; ')}`;
  }

  lastSeen(): string | undefined {
    const seen = this.strategies.map((s) => s.lastSeen?.()).filter((s): s is string => !!s);
    return seen.length ? seen.join('; ') : undefined;
  }

  async waitUntilReady(target: WaitTarget, signal: AbortSignal): Promise<void> {
    // One failing (not ready, it cannot be) stops the others.
    const inner = new AbortController();
    const onAbort = (): void => inner.abort(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.all(this.strategies.map((s) => s.waitUntilReady(target, inner.signal).catch((err: unknown) => {
        inner.abort(err);
        throw err;
      })));
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}

// ---------------------------------------------------------------------------------------
// The factory

/** The wait strategies, as Testcontainers names them. */
export const Wait = {
  /**
   * Until a line of its output (stdout or stderr) matches `pattern` (a RegExp, or a string
   * the line contains), `times` lines in all (default 1), counted from its start.
   */
  forLogMessage(pattern: RegExp | string, times = 1): WaitStrategy {
    if (!Number.isInteger(times) || times < 1) throw new SandboxError(`Wait.forLogMessage: times must be a whole number >= 1, not ${times}`, { code: 'invalid-option' });
    return new LogMessageStrategy(pattern, times);
  },
  /**
   * Until something listens on TCP `port` inside the sandbox (its /proc/net/tcp, read
   * through exec) and, when the port is published, its host port accepts a connection.
   * Without a port: every port of its `ports` option, else any listening port.
   */
  forListeningPort(port?: number): WaitStrategy {
    if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
      throw new SandboxError(`Wait.forListeningPort: invalid port ${port}`, { code: 'invalid-option', hint: 'a TCP port, 1-65535' });
    }
    return new ListeningPortStrategy(port);
  },
  /** Until `argv`, run in the sandbox, exits with `exitCode` (default 0). */
  forExec(argv: string[], options: { exitCode?: number } = {}): WaitStrategy {
    return new ExecStrategy([...argv], options.exitCode ?? 0);
  },
  /**
   * Until an HTTP request for `path` to container port `port` (published: it is sent to
   * its host port) answers `status` (default 200), or passes `status` when it is a function.
   */
  forHttp(path: string, port: number, options: HttpWaitOptions = {}): WaitStrategy {
    return new HttpStrategy(path, port, options);
  },
  /** Until its health check (the image's HEALTHCHECK) reports healthy. */
  forHealthy(): WaitStrategy {
    return new HealthyStrategy();
  },
  /** Until every one of `strategies` is satisfied (they wait side by side). */
  forAll(...strategies: WaitStrategy[]): WaitStrategy {
    return new AllStrategy(strategies);
  },
};

// ---------------------------------------------------------------------------------------
// Time-outs

/** How many of the last log lines a time-out error shows. */
export const STARTUP_LOG_TAIL = 20;

/** The log tail as errors quote it: its lines, or that there were none. */
function logLines(logTail: string): string {
  const tail = logTail.trimEnd();
  return tail ? `its last log lines:\n${tail}` : 'it wrote nothing to its log';
}

/**
 * The error of a wait that ran out of time (code `startup-timeout`): its message names the
 * strategy and what it saw last, then quotes the sandbox's last log lines (`logTail`), so a
 * test's failure says why the service never got ready; its hint has the lines too.
 */
export function startupTimeoutError(strategy: WaitStrategy, logTail: string, ms: number, sandbox?: string): SandboxError {
  const who = sandbox ? `sandbox ${sandbox}` : 'the sandbox';
  const seen = strategy.lastSeen?.();
  const lines = logLines(logTail);
  return new SandboxError(
    `${who} was not ready within ${ms} ms: waited for ${strategy.describe()}${seen ? ` (last seen: ${seen})` : ''}\n${lines}`,
    { code: 'startup-timeout', hint: `give startupTimeoutMs more time, or check the wait strategy; ${lines}` },
  );
}

/** What the time-out aborts a wait with, so it is told from every other failure. */
const TIMED_OUT = Symbol('startup timed out');

/**
 * Runs `strategy` against `target` for at most `timeoutMs` (what `Sandbox.start` does with
 * `waitFor` and `startupTimeoutMs`): resolves when ready. On time-out it throws
 * `startupTimeoutError` with the last `STARTUP_LOG_TAIL` log lines; when the strategy fails
 * otherwise (it cannot succeed: no health check, the sandbox ended), a SandboxError of the
 * failure's code saying so, the log lines in its hint. `signal` cancels the wait from
 * outside (rejecting with its reason).
 */
export async function waitUntilReady(target: WaitTarget, strategy: WaitStrategy, timeoutMs: number, options: { signal?: AbortSignal; name?: string } = {}): Promise<void> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(TIMED_OUT), timeoutMs);
  const outer = options.signal;
  const onOuter = (): void => ac.abort(outer?.reason);
  if (outer?.aborted) onOuter();
  else outer?.addEventListener('abort', onOuter, { once: true });
  try {
    await strategy.waitUntilReady(target, ac.signal);
  } catch (err) {
    if (ac.signal.aborted && ac.signal.reason !== TIMED_OUT) throw ac.signal.reason;
    const tail = await target.logs({ tail: STARTUP_LOG_TAIL }).catch((e: unknown) => `(its log could not be read: ${(e as Error).message})`);
    const name = options.name ?? target.id.slice(0, 12);
    if (ac.signal.reason === TIMED_OUT) throw startupTimeoutError(strategy, tail, timeoutMs, name);
    const e = err instanceof SandboxError ? err : undefined;
    throw new SandboxError(`sandbox ${name} did not become ready (${strategy.describe()}): ${(err as Error)?.message ?? String(err)}`, {
      code: e && e.code !== 'internal' ? e.code : 'error', hint: e?.hint ? `${e.hint}; ${logLines(tail)}` : logLines(tail), cause: err,
    });
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuter);
  }
}
