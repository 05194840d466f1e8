import { UsageError } from '../args';

/**
 * `aic completion bash|zsh|fish`: a script for the shell's completion system. Each one hands the
 * words typed so far to `aic __complete`, which knows the commands and options (command-specs.ts)
 * and asks a running daemon for models, hosts, sessions and budgets — never starting one.
 */

const BASH = `# aic completion for bash: source <(aic completion bash), or save it in your bash-completion directory.
_aic_complete() {
  # The words as typed, split on blanks only: bash would split a model ref at its ':'.
  local line="\${COMP_LINE:0:COMP_POINT}"
  local -a words
  read -r -a words <<< "$line"
  [[ "$line" =~ [[:space:]]$ ]] && words+=("")
  local cur="\${words[\${#words[@]}-1]}"
  local IFS=$'\\n'
  COMPREPLY=($(aic __complete "\${words[@]:1}" 2>/dev/null))
  # Bash replaces only what follows the last ':' or '=' of the word: offer that part.
  if [[ "$cur" == *[:=]* ]]; then
    local prefix="\${cur%"\${cur##*[:=]}"}"
    local i
    for i in "\${!COMPREPLY[@]}"; do COMPREPLY[$i]="\${COMPREPLY[$i]#"$prefix"}"; done
  fi
  return 0
}
complete -o default -F _aic_complete aic
`;

const ZSH = `#compdef aic
# aic completion for zsh: aic completion zsh > "\${fpath[1]}/_aic", then restart zsh (compinit).
_aic() {
  local -a candidates
  candidates=("\${(@f)$(aic __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  compadd -a candidates
}
if [[ "\${funcstack[1]}" = "_aic" ]]; then _aic "$@"; else compdef _aic aic; fi
`;

const FISH = `# aic completion for fish: aic completion fish > ~/.config/fish/completions/aic.fish
function __aic_complete
  set -l words (commandline -opc) (commandline -ct)
  aic __complete $words[2..-1] 2>/dev/null
end
complete -c aic -f -a '(__aic_complete)'
`;

const SCRIPTS: Record<string, string> = { bash: BASH, zsh: ZSH, fish: FISH };

export function run(argv: string[]): Promise<number> {
  const shell = argv[0];
  const script = shell === undefined ? undefined : SCRIPTS[shell];
  if (script === undefined || argv.length > 1) throw new UsageError('usage: aic completion bash|zsh|fish   (e.g. `source <(aic completion bash)`)');
  process.stdout.write(script);
  return Promise.resolve(0);
}
