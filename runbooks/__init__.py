"""The runbooks bundled with ctoops (installed as the package data of ``ctoops.runbooks``)."""
