"""ctoops: the OpenAI operational runbook of an OpenCTO deployment, from a terminal or CI."""

__version__ = "0.1.0"
