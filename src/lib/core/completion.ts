/**
 * Shell completion scripts for bash, zsh and fish, generated from the command tree: the commands,
 * their subcommands and each one's long options, so a new option completes without editing them.
 */
import { ErrorCodes, GamepipeError } from './errors.js';

/** A command as completion sees it. */
export interface CommandTree {
  name: string;
  options: string[];
  commands: CommandTree[];
}

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

const words = (xs: string[]): string => xs.join(' ');

/** For each command path ("", "topic", "topic create"): the words that may come next. */
function nextWords(tree: CommandTree, prefix = ''): Array<[string, string[]]> {
  const here: [string, string[]] = [prefix, [...tree.commands.map((c) => c.name), ...tree.options]];
  return [
    here,
    ...tree.commands.flatMap((c) => nextWords(c, prefix ? `${prefix} ${c.name}` : c.name)),
  ];
}

function bash(tree: CommandTree): string {
  const cases = nextWords(tree)
    .map(([path, next]) => `    "${path}") opts="${words(next)}" ;;`)
    .join('\n');
  return `# gamepipe completion for bash: source it, or save it as
# /etc/bash_completion.d/gamepipe (gamepipe completion bash > ...)
_gamepipe() {
  local cur path="" w i opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in -*) continue ;; esac
    case "$path $w" in
${nextWords(tree)
  .filter(([p]) => p !== '')
  .map(([p]) => `      " ${p}"|"${p}") path="${p}" ;;`)
  .join('\n')}
    esac
  done
  case "$path" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o default -F _gamepipe gamepipe
`;
}

function fish(tree: CommandTree): string {
  const lines = [
    '# gamepipe completion for fish: gamepipe completion fish > ~/.config/fish/completions/gamepipe.fish',
  ];
  lines.push('complete -c gamepipe -f');
  const top = tree.commands.map((c) => c.name);
  for (const o of tree.options) lines.push(`complete -c gamepipe -l ${o.replace(/^--/, '')}`);
  for (const c of tree.commands) {
    lines.push(
      `complete -c gamepipe -n "not __fish_seen_subcommand_from ${words(top)}" -a ${c.name}`,
    );
    for (const o of c.options)
      lines.push(
        `complete -c gamepipe -n "__fish_seen_subcommand_from ${c.name}" -l ${o.replace(/^--/, '')}`,
      );
    for (const s of c.commands) {
      lines.push(
        `complete -c gamepipe -n "__fish_seen_subcommand_from ${c.name}; and not __fish_seen_subcommand_from ${words(c.commands.map((x) => x.name))}" -a ${s.name}`,
      );
      for (const o of s.options)
        lines.push(
          `complete -c gamepipe -n "__fish_seen_subcommand_from ${s.name}" -l ${o.replace(/^--/, '')}`,
        );
    }
  }
  return lines.join('\n') + '\n';
}

function zsh(tree: CommandTree): string {
  // zsh runs bash completion functions through bashcompinit
  return `#compdef gamepipe
# gamepipe completion for zsh: gamepipe completion zsh > "\${fpath[1]}/_gamepipe"
autoload -U +X bashcompinit && bashcompinit
${bash(tree)}`;
}

/** The completion script of a shell. */
export function completionScript(shell: string, tree: CommandTree): string {
  switch (shell) {
    case 'bash':
      return bash(tree);
    case 'zsh':
      return zsh(tree);
    case 'fish':
      return fish(tree);
    default:
      throw new GamepipeError(
        ErrorCodes.usage,
        `no completion for shell ${JSON.stringify(shell)}`,
        {
          hint: `give one of ${SHELLS.join(', ')}`,
        },
      );
  }
}
