import type { Command } from 'commander';
import type { CommandTree } from '../lib/core/completion.js';
import { example, type Declare } from './command.js';

/** The command tree under `cmd`, as completion needs it. */
function treeOf(cmd: Command): CommandTree {
  return {
    name: cmd.name(),
    options: cmd.options.map((o) => o.long).filter((l): l is string => l !== undefined),
    commands: cmd.commands.map(treeOf),
  };
}

export const declare: Declare = (parent, run) => {
  example(
    parent
      .command('completion')
      .description('print a shell completion script (bash, zsh or fish)')
      .argument('<shell>', 'bash, zsh or fish')
      .action(async (shell: string) => {
        await run('completion', { shell, tree: treeOf(parent) });
      }),
    'gamepipe completion bash > ~/.local/share/bash-completion/completions/gamepipe',
    'gamepipe completion fish > ~/.config/fish/completions/gamepipe.fish',
    'source <(gamepipe completion bash)   # this shell only',
  );
};

export interface CompletionOptions {
  shell: string;
  tree: CommandTree;
}

/** Prints the completion script of a shell for every command and option of this gamepipe. */
export async function completion(opts: CompletionOptions): Promise<number> {
  const { completionScript } = await import('../lib/core/completion.js');
  process.stdout.write(completionScript(opts.shell, opts.tree));
  return 0;
}
