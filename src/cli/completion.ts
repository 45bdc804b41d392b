/**
 * Shell completion: `sandbox completion bash|zsh|fish` prints a script; the script asks
 * `sandbox __complete WORD...` (the words typed so far, the last one being completed) for
 * the candidates, one a line. Commands and group subcommands come from the registry
 * (index.ts, groups.ts), options from each command's own yargs builder, and operands from
 * the store: sandbox names for the verbs of the `container` group, image names for the
 * `image` group's, volume names for `volume`'s (OPERANDS says where a verb differs).
 */
import yargs, { type Argv } from 'yargs';
import { SandboxError } from '../errors.js';
import { storePathsFromArgs } from './context.js';
import { GLOBAL_OPTIONS } from './global-options.js';
import { commands } from './commands/index.js';
import { GROUPS, verbOf, type AnyCommand, type Operand } from './commands/groups.js';
import { listSandboxes } from '../api/lifecycle.js';
import { listImages } from '../api/images.js';
import { listVolumes } from '../api/volumes.js';

type Kind = Operand | 'any';

/** Verbs whose operands are not their group's (or that are in no group). */
const OPERANDS: Record<string, Kind> = {
  run: 'image', create: 'image', inspect: 'any', pull: 'none', import: 'none', load: 'none',
  images: 'image', info: 'none', events: 'none', login: 'none', logout: 'none', doctor: 'none', version: 'none', completion: 'none',
};

/** Verbs whose first operand alone is completed (the rest is a command, a new name, a path). */
const FIRST_ONLY = new Set(['run', 'create', 'exec', 'tag', 'commit', 'rename', 'cp', 'export', 'label', 'save', 'push', 'history']);

/** A group's subcommands (groups.ts puts them on the group's module). */
function subcommandsOf(c: AnyCommand | undefined): AnyCommand[] | undefined {
  return (c as { subcommands?: AnyCommand[] } | undefined)?.subcommands;
}

function isHidden(c: AnyCommand): boolean {
  return c.describe === false;
}

function namesOf(c: AnyCommand): string[] {
  return [verbOf(c), ...(c.aliases ? ([] as string[]).concat(c.aliases) : [])];
}

function findCommand(list: readonly AnyCommand[], word: string): AnyCommand | undefined {
  return list.find((c) => namesOf(c).includes(word));
}

interface OptionInfo {
  /** `--name` and `-n` spellings. */
  spellings: string[];
  takesValue: boolean;
  choices: string[];
}

/** The options a command's builder declares (positionals left out), as yargs knows them. */
function optionsOf(c: AnyCommand): OptionInfo[] {
  const y = yargs([]) as Argv;
  try {
    if (typeof c.builder === 'function') c.builder(y);
    else if (c.builder) y.options(c.builder);
  } catch { /* a builder that needs more than declarations: no options offered */ }
  const o = (y as unknown as { getOptions(): unknown }).getOptions() as {
    key: Record<string, boolean>; alias: Record<string, string[]>; boolean: string[]; count: string[];
    choices: Record<string, string[]>; hiddenOptions: string[];
  };
  const positionals = new Set([...String(Array.isArray(c.command) ? c.command[0] : c.command).matchAll(/[<[]([\w-]+)/g)].map((m) => m[1]!));
  const aliasNames = new Set(Object.values(o.alias).flat());
  const out: OptionInfo[] = globalOptionInfos();
  for (const key of Object.keys(o.key)) {
    if (positionals.has(key) || aliasNames.has(key) || key === 'version' || GLOBAL_OPTIONS.some((g) => g.name === key) || o.hiddenOptions.includes(key)) continue;
    const names = [key, ...(o.alias[key] ?? [])];
    out.push({
      spellings: names.map((n) => (n.length === 1 ? `-${n}` : `--${n}`)),
      takesValue: !o.boolean.includes(key) && !o.count.includes(key) && key !== 'help',
      choices: (o.choices[key] ?? []).map(String),
    });
  }
  return out;
}

/** Podman's global options (global-options.ts), offered before and after every command word. */
function globalOptionInfos(): OptionInfo[] {
  return GLOBAL_OPTIONS.filter((g) => !g.refusal || g.honoured).map((g) => ({ spellings: [`--${g.name}`], takesValue: g.value, choices: [...(g.honoured ?? g.choices ?? [])] }));
}

function operandNames(kind: Kind, root: string | undefined): string[] {
  const paths = storePathsFromArgs(root ? { root } : {});
  const out: string[] = [];
  if (kind === 'sandbox' || kind === 'any') out.push(...listSandboxes(paths, { all: true }).map((v) => v.record.name));
  if (kind === 'image' || kind === 'any') {
    for (const r of listImages(paths)) {
      if (r.dangling) continue;
      // A local image also by its short name (localhost/app: app), what users type.
      for (const repo of r.repository.startsWith('localhost/') ? [r.repository, r.repository.slice('localhost/'.length)] : [r.repository]) {
        out.push(`${repo}:${r.tag}`);
        if (r.tag === 'latest') out.push(repo);
      }
    }
  }
  if (kind === 'volume') out.push(...listVolumes(paths).map((v) => v.Name));
  return out;
}

/** The group (if any) a top-level verb belongs to. */
function groupOperand(verb: string): Kind {
  if (OPERANDS[verb]) return OPERANDS[verb]!;
  for (const g of GROUPS) {
    if (g.members.some((m) => (typeof m === 'string' ? m : m.verb) === verb)) return g.operand;
  }
  return 'none';
}

/**
 * The candidates for the last of `words` (the words after `sandbox`; the last one is
 * being typed, '' for a new word). Reads the store for names only where an operand is due.
 */
export function completeWords(words: string[], registry: readonly AnyCommand[] = commands): string[] {
  const cur = words[words.length - 1] ?? '';
  const before = words.slice(0, -1);
  let root: string | undefined;
  let list: readonly AnyCommand[] = registry;
  let command: AnyCommand | undefined;
  let kind: Kind = 'none';
  let group: (typeof GROUPS)[number] | undefined;
  let verb = '';
  let options: OptionInfo[] = [...globalOptionInfos(), { spellings: ['--help'], takesValue: false, choices: [] }];
  let positionals = 0;
  let pendingValue: OptionInfo | undefined;
  let afterDashes = false;
  for (const w of before) {
    if (pendingValue) {
      if (pendingValue.spellings[0] === '--root') root = w;
      pendingValue = undefined;
      continue;
    }
    if (!afterDashes && w === '--') { afterDashes = true; continue; }
    if (!afterDashes && w.startsWith('-') && w !== '-') {
      if (w.startsWith('--root=')) root = w.slice(7);
      const name = w.split('=')[0]!;
      const opt = options.find((o) => o.spellings.includes(name));
      if (opt?.takesValue && !w.includes('=')) pendingValue = opt;
      continue;
    }
    if (!command || subcommandsOf(command)) {
      const next = findCommand(list, w);
      if (!next) return [];
      command = next;
      options = optionsOf(next);
      if (subcommandsOf(next)) {
        group = GROUPS.find((g) => g.name === verbOf(next));
        list = subcommandsOf(next)!;
        continue;
      }
      // A group's member completes as its top-level verb does; the group's own subcommands as the group says.
      verb = verbOf(next);
      const member = group?.members.map((m) => (typeof m === 'string' ? { verb: m } : m)).find((m) => (m.as ?? m.verb) === verb);
      if (member) verb = member.verb;
      kind = group && !member ? group.operand : groupOperand(verb);
      continue;
    }
    positionals++;
  }
  const starts = (c: string) => c.startsWith(cur);
  if (pendingValue) {
    if (pendingValue.choices.length) return pendingValue.choices.filter(starts);
    return [];
  }
  if (cur.startsWith('-') && !afterDashes) return options.flatMap((o) => o.spellings).filter(starts);
  if (!command || subcommandsOf(command)) {
    return list.filter((c) => !isHidden(c)).flatMap(namesOf).filter(starts);
  }
  if (kind === 'none' || (positionals > 0 && FIRST_ONLY.has(verb))) return [];
  return [...new Set(operandNames(kind, root))].filter(starts).sort();
}

const BASH = `# bash completion for sandbox: eval "$(sandbox completion bash)", e.g. in ~/.bashrc
_sandbox_complete() {
  local line="\${COMP_LINE:0:COMP_POINT}" IFS=$'\\n'
  local -a words
  # Words from the line itself, not COMP_WORDS: bash splits those at ':' (image:tag).
  IFS=$' \\t\\n' read -r -a words <<< "$line"
  [[ "$line" =~ [[:space:]]$ ]] && words+=("")
  local cur="\${words[\${#words[@]}-1]}"
  COMPREPLY=($(compgen -W "$("\${words[0]}" __complete "\${words[@]:1}" 2>/dev/null)" -- "$cur"))
  # What bash takes as the word being replaced starts after the last ':'.
  if [[ "$cur" == *:* && "$COMP_WORDBREAKS" == *:* ]]; then
    local colon="\${cur%"\${cur##*:}"}" i
    for i in "\${!COMPREPLY[@]}"; do COMPREPLY[i]="\${COMPREPLY[i]#"$colon"}"; done
  fi
}
complete -o default -F _sandbox_complete sandbox
`;

const ZSH = `#compdef sandbox
# zsh completion for sandbox: eval "$(sandbox completion zsh)" after compinit, or save as _sandbox in $fpath
_sandbox() {
  local -a candidates
  candidates=("\${(@f)$("\${words[1]}" __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  candidates=("\${(@)candidates:#}")
  if (( \${#candidates} )); then
    compadd -Q -- "\${candidates[@]}"
  else
    _files
  fi
}
if (( \${+functions[compdef]} )); then compdef _sandbox sandbox; fi
`;

const FISH = `# fish completion for sandbox: sandbox completion fish > ~/.config/fish/completions/sandbox.fish
function __sandbox_complete
    set -l words (commandline -opc) (commandline -ct)
    $words[1] __complete $words[2..-1] 2>/dev/null
end
complete -c sandbox -f -a '(__sandbox_complete)'
`;

export const SHELLS = ['bash', 'zsh', 'fish'] as const;

export function completionScript(shell: string): string {
  if (shell === 'bash') return BASH;
  if (shell === 'zsh') return ZSH;
  if (shell === 'fish') return FISH;
  throw new SandboxError(`no completion for shell ${JSON.stringify(shell)}`, { hint: `one of ${SHELLS.join(', ')}` });
}

/** `sandbox __complete WORD...`: the candidates, one a line. Never fails loudly: a shell is waiting. */
export function printCompletions(words: string[]): void {
  let out: string[] = [];
  try { out = completeWords(words.length ? words : ['']); } catch { out = []; }
  if (out.length) process.stdout.write(`${out.join('\n')}\n`);
}
