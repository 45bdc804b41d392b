/** Signal names and numbers as users type them (Linux numbering). Pure. */
import { SandboxError } from '../errors.js';

const SIGNALS: Record<string, number> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11, USR2: 12,
  PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CONT: 18, STOP: 19, TSTP: 20, TTIN: 21, TTOU: 22,
  URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28, IO: 29, PWR: 30, SYS: 31,
};

/** A signal by name (`TERM`, `SIGTERM`, any case) or number, as `--stop-signal` and `kill -s` take it. */
export function parseSignal(value: string): number {
  if (/^[0-9]+$/.test(value)) {
    const n = Number(value);
    if (n >= 1 && n <= 64) return n;
  } else {
    const n = SIGNALS[value.toUpperCase().replace(/^SIG/, '')];
    if (n !== undefined) return n;
    const rt = /^RTMIN(?:\+([0-9]+))?$/.exec(value.toUpperCase().replace(/^SIG/, ''));
    if (rt && 34 + Number(rt[1] ?? 0) <= 64) return 34 + Number(rt[1] ?? 0);
  }
  throw new SandboxError(`invalid signal "${value}"`, { hint: 'use a name like TERM, SIGINT, KILL, or a number 1-64' });
}

