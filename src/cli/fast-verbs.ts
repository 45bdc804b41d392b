/**
 * `container run|create|exec|ls|list|ps` are the top-level `run`, `create`, `exec` and `ps` (commands/groups.ts
 * says so for the full CLI; a unit test keeps the two in step), so main.ts gives them the
 * same fast paths. No imports: main.ts loads this on every start.
 */
const IN_CONTAINER = new Map([['run', 'run'], ['create', 'create'], ['exec', 'exec'], ['ls', 'ps'], ['list', 'ps'], ['ps', 'ps']]);

/** The words as the top-level verb would have them (`container ls -a` -> `ps -a`), else as they are. */
export function fastVerbWords(argv: string[]): string[] {
  const verb = argv[0] === 'container' && argv[1] !== undefined ? IN_CONTAINER.get(argv[1]) : undefined;
  return verb ? [verb, ...argv.slice(2)] : argv;
}
