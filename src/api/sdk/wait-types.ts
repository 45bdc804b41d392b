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
}
