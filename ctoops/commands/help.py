"""ctoops help: topics (exit codes, environment, formats) and any command's help."""

from __future__ import annotations

import click


@click.command("help", context_settings={"ignore_unknown_options": True})
@click.argument("words", nargs=-1, metavar="[TOPIC | COMMAND...]")
@click.pass_context
def help_command(ctx: click.Context, words: tuple[str, ...]) -> None:
    """Help topics (exit codes, environment, formats), or a command's help.

    \b
    Examples:
      ctoops help                 list the topics
      ctoops help exit-codes      what each exit code means
      ctoops help usage pull      the same as: ctoops usage pull --help
    """
    from ctoops.topics import TOPICS, read

    root = ctx.find_root()
    if not words:
        click.echo(_topic_list(TOPICS))
        return
    if words[0] in TOPICS and len(words) > 1:  # a topic takes no more words
        raise click.UsageError(f"the help topic {words[0]!r} takes no more words (got {' '.join(words[1:])!r})")
    if len(words) == 1 and words[0] in TOPICS:
        click.echo(read(words[0]), nl=False)
        return
    command: click.Command = root.command
    path = [root.info_name or "ctoops"]
    sub_ctx = root
    for word in words:
        if not isinstance(command, click.Group) or (found := command.get_command(sub_ctx, word)) is None:
            raise _unknown(word, command, sub_ctx, TOPICS if command is root.command else {})
        command = found
        path.append(word)
        sub_ctx = click.Context(command, info_name=word, parent=sub_ctx)
    click.echo(command.get_help(sub_ctx))


def _topic_list(topics: dict[str, str]) -> str:
    width = max(len(name) for name in topics)
    lines = ["Help topics (ctoops help TOPIC):", ""]
    lines += [f"  {name.ljust(width)}  {line}" for name, line in topics.items()]
    lines += ["", "A command's help: ctoops help COMMAND (or ctoops COMMAND --help)."]
    return "\n".join(lines)


def _unknown(word: str, group: click.Command, ctx: click.Context, topics: dict[str, str]) -> click.UsageError:
    from difflib import get_close_matches

    commands = group.list_commands(ctx) if isinstance(group, click.Group) else []
    known = [*topics, *commands]
    close = get_close_matches(word, known, n=3)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    listing = f"topics: {', '.join(topics)}; commands: " if topics else "commands: "
    return click.UsageError(f"no help topic or command {word!r} ({listing}{', '.join(commands)}).{hint}")
