"""ctoops completion: the shell completion script for bash, zsh or fish."""

from __future__ import annotations

import click


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]), required=False)
@click.pass_context
def completion(ctx: click.Context, shell: str | None) -> None:
    """Print the shell completion script for bash, zsh or fish.

    Completes commands, options, runbook names, check names, group-by fields and buckets,
    and file names where a path is expected. SHELL defaults to your login shell ($SHELL).

    \b
    Load it in the current shell:
      eval "$(ctoops completion bash)"          # bash 4.4+
      eval "$(ctoops completion zsh)"           # after compinit
      ctoops completion fish | source
    Keep it:
      ctoops completion bash > ~/.local/share/bash-completion/completions/ctoops
      ctoops completion zsh > "${fpath[1]}/_ctoops"
      ctoops completion fish > ~/.config/fish/completions/ctoops.fish
    """
    from ctoops.completion import SHELLS, detect_shell, script
    from ctoops.errors import BadInput

    chosen = shell or detect_shell()
    if chosen is None:
        raise BadInput(f"name the shell: ctoops completion {{{'|'.join(SHELLS)}}} ($SHELL is not one of them)")
    root = ctx.find_root()
    click.echo(script(chosen, root.command, root.info_name or "ctoops"), nl=False)
