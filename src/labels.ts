/**
 * Labels in their two plain forms, one home for each: `KEY[=VALUE]` that sets a label
 * (`run -l`, `create -l`, `volume create -l`) and the label filter `label=KEY[=VALUE]`
 * (`ps`, `images`, `events`). `sandbox label`'s `KEY-` changes and a Dockerfile `LABEL`
 * in `commit --change` have grammars of their own (api/labels.ts, images/config.ts). Pure.
 */
import { SandboxError } from './errors.js';

/** `KEY=VALUE`, or `KEY` alone for an empty value (as Docker); an empty key is an error. */
export function parseLabel(arg: string): [string, string] {
  const eq = arg.indexOf('=');
  const key = eq < 0 ? arg : arg.slice(0, eq);
  if (key.trim() === '' || key.includes('\0')) {
    throw new SandboxError(`invalid label ${JSON.stringify(arg)}: empty key`, { hint: 'use -l KEY=VALUE or -l KEY' });
  }
  return [key, eq < 0 ? '' : arg.slice(eq + 1)];
}

/** Repeated `-l KEY[=VALUE]` as a record; a later value for a key wins. */
export function parseLabels(args: readonly string[] = []): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const arg of args) {
    const [key, value] = parseLabel(arg);
    labels[key] = value;
  }
  return labels;
}

/** A label filter: `KEY` matches labels that have the key, `KEY=VALUE` those with that value. */
export function labelMatches(labels: Readonly<Record<string, string>>, spec: string): boolean {
  const eq = spec.indexOf('=');
  const key = eq < 0 ? spec : spec.slice(0, eq);
  if (!Object.hasOwn(labels, key)) return false;
  return eq < 0 || labels[key] === spec.slice(eq + 1);
}
