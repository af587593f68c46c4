"""Write cassettes/test_contract_cloudflare/ from the loopback fake (documented shapes).

    .venv/bin/python tests/support/record_cf.py [CASE ...]

Each case of ``cf_cases.CASES`` runs the real CLI in-process against ``cf_fake.FakeCloudflare``
on 127.0.0.1 with vcrpy recording (the same scrubbers as ``tests/conftest.py``), the clock
pinned at the cassettes' time; the loopback origin is then written as
https://api.cloudflare.com, where replay expects it. To record against a real account
instead, see cassettes/README.md ("Cloudflare").
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import vcr  # noqa: E402
from cf_cases import CASES  # noqa: E402
from cf_fake import FakeCloudflare, Scenario  # noqa: E402
from cf_scrub import before_record_request, before_record_response  # noqa: E402
from cf_traffic import events  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from fakeserver import FakeServer  # noqa: E402
from scrub import SECRET_HEADERS  # noqa: E402

CASSETTE_TIME = 1795262400.0  # 2026-11-21T12:00:00Z (tests/conftest.py)
OUT = ROOT / "cassettes" / "test_contract_cloudflare"
TOKEN = "cf-test-token-0000000000000000"


def record(name: str) -> None:
    import ctoops.cloudflare.span as span
    from ctoops.cli import cli

    case = CASES[name]
    span.now = lambda: CASSETTE_TIME
    server = FakeServer()
    fake = FakeCloudflare(server, events(), Scenario(**case.scenario))
    path = OUT / f"{name}.yaml"
    path.unlink(missing_ok=True)
    recorder = vcr.VCR(
        filter_headers=[(h, "REDACTED") for h in SECRET_HEADERS],
        before_record_request=before_record_request,
        before_record_response=before_record_response,
        decode_compressed_response=True,
        match_on=["method", "scheme", "host", "port", "path", "query", "body"],
    )
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "CLOUDFLARE_API_TOKEN": TOKEN,
            "CLOUDFLARE_BASE_URL": fake.base_url,
            "CTOOPS_CONFIG": os.path.join(tmp, "config.toml"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            **case.env,
        }
        with recorder.use_cassette(str(path), record_mode="all"):
            result = CliRunner().invoke(cli, list(case.args), env=env, prog_name="ctoops")
    server.close()
    loopback = server.url.removeprefix("http://")
    text = path.read_text().replace(server.url, "https://api.cloudflare.com").replace(loopback, "api.cloudflare.com")
    header = (
        f"# Recorded from tests/support/cf_fake.py (a loopback server answering in documented shapes:\n"
        f"# {case.shapes}), not from a live account.\n"
        f"# Case: {case.about}.\n"
        "# Regenerate: .venv/bin/python tests/support/record_cf.py; against a real account: cassettes/README.md.\n"
    )
    path.write_text(header + text)
    print(f"{name}: exit {result.exit_code}, {text.count('- request:')} requests")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for case_name in sys.argv[1:] or list(CASES):
        record(case_name)
