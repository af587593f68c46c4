"""Help topics (``ctoops help TOPIC``), shipped inside the package as text files so a user who
installed ctoops from a wheel, without the repository, has them.

Each topic is ``<name>.txt`` beside this module; ``TOPICS`` lists them with the one line
``ctoops help`` shows (``tests/test_help_topics.py`` checks the two agree).
"""

from __future__ import annotations

TOPICS: dict[str, str] = {
    "exit-codes": "What each exit code means, for scripts and CI.",
    "environment": "Environment variables ctoops reads.",
    "formats": "Output formats: table, json, csv, files, reports, dates and money.",
}


def read(name: str) -> str:
    """The text of topic ``name`` (a key of ``TOPICS``). Raises ``KeyError`` for another name."""
    from importlib.resources import files

    if name not in TOPICS:
        raise KeyError(name)
    return files(__name__).joinpath(f"{name}.txt").read_text(encoding="utf-8")
