/**
 * The contract between Sandbox.start and a wait strategy (`waitFor`): what a strategy
 * may use of the sandbox, and what it must do. `Wait` (wait.ts) builds the usual ones.
 */

/** What a wait strategy sees of the sandbox it waits for; a Sandbox is one. */
export interface WaitTarget {
  readonly id: string;
  readonly host: string;
  exec(argv: string[], opts?: { timeoutMs?: number }): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  logs(opts?: { tail?: number }): Promise<string>;
  mappedPort(containerPort: number, protocol?: 'tcp' | 'udp'): number;
  // Optional, for better or more waits (wait.ts): `logFile` lets forLogMessage read only
  // what the log gained since its last look (else it reads logs() whole each time);
  // `health` is what forHealthy polls; `exposedPorts` gives forListeningPort() its ports.
  /** The path of its log file (the monitor's CRI-format log), undefined when it keeps none. */
  logFile?(): string | undefined;
  /** Its health check's state; undefined when it has no health check. */
  health?(): Promise<'starting' | 'healthy' | 'unhealthy' | undefined>;
  /** The container ports it publishes (its `ports` option). */
  exposedPorts?(): number[];
}

/**
 * Decides when a started sandbox is ready. `waitUntilReady` resolves when it is, and
 * should give up (reject) once `signal` aborts: Sandbox.start aborts it at `startupTimeoutMs`
 * and throws SandboxError `startup-timeout` with the sandbox's last log lines.
 */
export interface WaitStrategy {
  /** What it waits for, in a few words (the timeout's message names it). */
  describe(): string;
  waitUntilReady(target: WaitTarget, signal: AbortSignal): Promise<void>;
  /** What its last check saw when not yet ready (`HTTP 503`); the timeout's message quotes it. */
  lastSeen?(): string | undefined;
}
