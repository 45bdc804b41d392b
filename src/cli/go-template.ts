/**
 * `--format '{{.Field}}'`: the subset of Go's text/template that Docker and Podman users
 * write in scripts. Actions are `{{.A.B}}` (a field path; `.` alone is the value),
 * function calls `{{json .X}}`, `{{index .Labels "k"}}`, `{{join .Names ","}}`,
 * `{{upper .X}}`, `{{lower .X}}`, `{{len .X}}`, `{{println .X}}`, pipes (`{{.X | json}}`),
 * and `{{if PIPE}}...{{else}}...{{end}}`, `{{range PIPE}}...{{end}}` (the dot is then the
 * element). `{{-` and `-}}` trim white space as in Go. Values print as Go prints them:
 * maps as `map[k:v]`, lists as `[a b]`, null as `<no value>`. Pure.
 */
import { SandboxError } from '../errors.js';

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: string }
  | { kind: 'if'; pipe: string; then: Node[]; else: Node[] }
  | { kind: 'range'; pipe: string; body: Node[]; else: Node[] };

function bad(template: string, why: string): SandboxError {
  const shown = template.length > 80 ? `${template.slice(0, 77)}...` : template;
  return new SandboxError(`invalid --format template ${JSON.stringify(shown)}: ${why}`, {
    hint: "write fields as {{.Name}} (see --format json for the names), e.g. --format '{{.Id}} {{json .Config.Labels}}'",
  });
}

/** Deepest nesting of {{if}}/{{range}} blocks: far beyond any real template, well within the stack. */
const MAX_NESTING = 100;

/** Splits a template into text and actions, then nests if/range blocks. */
function parse(template: string): Node[] {
  const tokens: ({ text: string } | { action: string })[] = [];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{{', i);
    if (open < 0) { tokens.push({ text: template.slice(i) }); break; }
    let text = template.slice(i, open);
    const close = template.indexOf('}}', open + 2);
    if (close < 0) throw bad(template, 'an unclosed {{');
    let action = template.slice(open + 2, close);
    let next = close + 2;
    if (action.startsWith('-')) { text = text.trimEnd(); action = action.slice(1); }
    if (action.endsWith('-')) {
      action = action.slice(0, -1);
      while (next < template.length && /\s/.test(template[next]!)) next++;
    }
    if (text) tokens.push({ text });
    tokens.push({ action: action.trim() });
    i = next;
  }
  let pos = 0;
  let depth = 0;
  const block = (ends: string[]): { nodes: Node[]; end: string } => {
    if (++depth > MAX_NESTING) throw bad(template, `{{if}} and {{range}} nested more than ${MAX_NESTING} deep`);
    const nodes: Node[] = [];
    while (pos < tokens.length) {
      const t = tokens[pos++]!;
      if ('text' in t) { nodes.push({ kind: 'text', text: t.text }); continue; }
      const word = t.action.split(/\s+/)[0]!;
      if (ends.includes(word)) { depth--; return { nodes, end: word }; }
      if (word === 'if' || word === 'range') {
        const pipe = t.action.slice(word.length).trim();
        if (!pipe) throw bad(template, `{{${word}}} needs a value`);
        const first = block(['else', 'end']);
        const second = first.end === 'else' ? block(['end']) : { nodes: [], end: 'end' };
        if (second.end !== 'end') throw bad(template, `{{${word}}} without {{end}}`);
        nodes.push(word === 'if'
          ? { kind: 'if', pipe, then: first.nodes, else: second.nodes }
          : { kind: 'range', pipe, body: first.nodes, else: second.nodes });
        continue;
      }
      if (word === 'end' || word === 'else') throw bad(template, `{{${word}}} without {{if}} or {{range}}`);
      nodes.push({ kind: 'action', pipe: t.action });
    }
    if (ends.length) throw bad(template, `{{${ends.join('}} or {{')}}} missing`);
    return { nodes, end: '' };
  };
  return block([]).nodes;
}

/** Go's %v of a JSON-like value. */
export function goString(v: unknown): string {
  if (v === null || v === undefined) return '<no value>';
  if (Array.isArray(v)) return `[${v.map(goString).join(' ')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${entries.map(([k, x]) => `${k}:${goString(x)}`).join(' ')}]`;
  }
  return String(v);
}

/** Words of an action: "quoted strings" stay whole. */
function words(text: string, template: string): string[] {
  const out: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|[^\s"]+)/y;
  let end = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) { out.push(m[1]!); end = re.lastIndex; }
  if (text.slice(end).trim()) throw bad(template, `cannot read ${JSON.stringify(text)}`);
  return out;
}

function field(dot: unknown, path: string, template: string): unknown {
  if (path === '.') return dot;
  let v: unknown = dot;
  for (const name of path.slice(1).split('.')) {
    if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v)) {
      throw bad(template, `${path}: there is no field ${name} here`);
    }
    const obj = v as Record<string, unknown>;
    // Own fields only: `constructor`, `__proto__`, `toString` are JavaScript's, not the value's.
    if (!Object.hasOwn(obj, name)) {
      // Field names are exact in Go; a near miss in case is the usual mistake, so name it.
      const near = Object.keys(obj).find((k) => k.toLowerCase() === name.toLowerCase());
      throw bad(template, `no field ${name}${near ? ` (did you mean ${near}?)` : ''}`);
    }
    v = obj[name];
  }
  return v;
}

/** Go's `index`: a map's value for a key (none: no value), a list's element at a number. */
function indexOf(x: unknown, key: unknown, template: string): unknown {
  if (Array.isArray(x)) {
    if (typeof key !== 'number' || !Number.isInteger(key)) throw bad(template, `index of a list takes a number, not ${goString(key)}`);
    if (key < 0 || key >= x.length) throw bad(template, `index ${key} out of range (the list has ${x.length})`);
    return x[key];
  }
  if (x === null || typeof x !== 'object') throw bad(template, `index of ${goString(x)}`);
  const k = String(key);
  return Object.hasOwn(x, k) ? (x as Record<string, unknown>)[k] : undefined;
}

const FUNCS: Record<string, (args: unknown[], template: string) => unknown> = {
  json: ([v]) => JSON.stringify(v ?? null),
  upper: ([v]) => goString(v).toUpperCase(),
  lower: ([v]) => goString(v).toLowerCase(),
  len: ([v]) => (Array.isArray(v) ? v.length : v && typeof v === 'object' ? Object.keys(v).length : goString(v).length),
  println: (args) => `${args.map(goString).join(' ')}\n`,
  join: ([v, sep], template) => {
    if (!Array.isArray(v)) throw bad(template, 'join takes a list');
    return v.map(goString).join(String(sep ?? ''));
  },
  index: ([v, ...keys], template) => keys.reduce((x, k) => indexOf(x, k, template), v),
};

function evalArg(word: string, dot: unknown, template: string): unknown {
  if (word.startsWith('"')) {
    try {
      return JSON.parse(word) as string;
    } catch {
      throw bad(template, `${word} is not a valid string`);
    }
  }
  if (/^-?[0-9]+$/.test(word)) return Number(word);
  if (word === '.' || word.startsWith('.')) return field(dot, word, template);
  throw bad(template, `${word} is neither a field (.Name), a string nor a number`);
}

/** A pipeline: commands separated by `|`, each one's value the last argument of the next. */
function evalPipe(pipe: string, dot: unknown, template: string): unknown {
  let value: unknown;
  let first = true;
  for (const command of pipe.split('|')) {
    const w = words(command, template);
    if (!w.length) throw bad(template, 'an empty action');
    const [head, ...rest] = w as [string, ...string[]];
    const args = rest.map((a) => evalArg(a, dot, template));
    if (!first) args.push(value);
    const fn = Object.hasOwn(FUNCS, head) ? FUNCS[head] : undefined;
    if (fn) value = fn(args, template);
    else if (first && rest.length === 0 && !/^[a-z]/.test(head)) value = evalArg(head, dot, template);
    else throw bad(template, `unknown function ${head} (known: ${Object.keys(FUNCS).join(', ')})`);
    first = false;
  }
  return value;
}

function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === 'object') return Object.keys(v).length > 0;
  return !!v;
}

function render(nodes: Node[], dot: unknown, template: string): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'action') {
      const v = evalPipe(n.pipe, dot, template);
      out += typeof v === 'string' ? v : goString(v);
    } else if (n.kind === 'if') out += render(truthy(evalPipe(n.pipe, dot, template)) ? n.then : n.else, dot, template);
    else {
      const v = evalPipe(n.pipe, dot, template);
      const items = Array.isArray(v) ? v : v && typeof v === 'object' ? Object.values(v as object) : [];
      out += items.length ? items.map((x) => render(n.body, x, template)).join('') : render(n.else, dot, template);
    }
  }
  return out;
}

/** Compiles a template once; the result renders one value. Escapes `\t` and `\n` as Docker does. */
export function compileTemplate(template: string): (value: unknown) => string {
  const nodes = parse(template.replace(/\\t/g, '\t').replace(/\\n/g, '\n'));
  return (value) => render(nodes, value, template);
}

/** True for a --format value that is a template (not `json` or `table`). */
export function isTemplate(format: string | undefined): format is string {
  return !!format && format.includes('{{');
}
