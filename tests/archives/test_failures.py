"""`errors trend s3://...` when things go wrong: each failure one named line and the
contract's exit code (3 credential missing or refused, 2 no such bucket or a bad location,
4 storage failing or unreachable or not S3, 5 throttled), never a traceback, never a secret.

Refusals come from moto with IAM authentication on (tests/support/s3server.py). Failures
moto cannot play (a 500, SlowDown, a body cut mid-way) come from tests/support/fakeserver.py
answering in S3's documented XML: ListObjectsV2's ``ListBucketResult`` and the ``Error``
document (docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html and
ErrorResponses.html). Retries are turned off with ``--max-retries 0`` (botocore's backoff
would sleep for real), except where the resume of a broken body is the point: that resume
does not sleep."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from fakeserver import FakeServer, Reply
from s3server import S3Server

from ctoops.trends.archives import folder_day, name_times, parse_url

KEY = "opencto/20261121/20261121T100000Z_20261121T100500Z_1747b6ef.log.gz"
TOKEN_URL = "https://api.opencto.works/api/v1/realtime/token"
LINES = [
    {
        "EventTimestampMs": 1795255200000 + i * 1000,
        "EventType": "fetch",
        "Outcome": "ok",
        "Event": {"Request": {"URL": TOKEN_URL, "Method": "POST"}, "Response": {"Status": 429 if i % 4 == 0 else 200}},
    }
    for i in range(400)
]
BODY = gzip.compress(b"".join(json.dumps(line).encode() + b"\n" for line in LINES))


def listing(key: str = KEY, size: int = len(BODY)) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        "<Name>logs</Name><Prefix>opencto/</Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys>"
        f"<IsTruncated>false</IsTruncated><Contents><Key>{key}</Key>"
        f'<LastModified>2026-11-21T10:06:00.000Z</LastModified><ETag>"5d41402abc4b2a76"</ETag><Size>{size}</Size>'
        "<StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>"
    )


def error(code: str, message: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>'


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    server = FakeServer()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKEFAKE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret-never-shown-0123456789")
    yield server
    server.close()


def trend(ctoops: Any, url: str, endpoint: str, *extra: str) -> Any:
    return ctoops("--max-retries", "0", "errors", "trend", url, "--endpoint-url", endpoint, "--format", "json", *extra)


def one_line_error(result: Any, code: int, *words: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    for word in words:
        assert word in errors[0], errors[0]
    assert "Traceback" not in result.all and result.stdout == ""


# -- credentials (moto, authentication on) -------------------------------------------------------


@pytest.fixture(scope="module")
def bucket(server: S3Server) -> S3Server:
    server.client().create_bucket(Bucket="logs")
    server.client().put_object(Bucket="logs", Key=KEY, Body=BODY)
    return server


def test_no_credential_is_exit_3_naming_the_variables(ctoops, bucket):
    result = trend(ctoops, "s3://logs/opencto/", bucket.url)
    one_line_error(result, 3, "no S3 credentials", "s3://logs/opencto/", "AWS_ACCESS_KEY_ID", "AWS_PROFILE")


@pytest.mark.parametrize("wrong", ["key id", "secret"])
def test_a_refused_credential_is_exit_3_and_the_secret_is_never_shown(ctoops, bucket, monkeypatch, wrong):
    secret = "wrong-secret-0123456789abcdef" if wrong == "secret" else bucket.secret
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIANOTAKEYNOTAKEY00" if wrong == "key id" else bucket.key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    result = ctoops("-v", "--max-retries", "0", "errors", "trend", "s3://logs/opencto/", "--endpoint-url", bucket.url)
    code = "InvalidAccessKeyId" if wrong == "key id" else "SignatureDoesNotMatch"
    one_line_error(result, 3, "the storage refused the credentials", f"403 {code}", "AWS_ACCESS_KEY_ID")
    assert secret not in result.all and secret[-4:] not in result.all


def test_a_profile_is_read_and_a_missing_one_is_exit_3(ctoops, bucket, monkeypatch, tmp_path):
    credentials = tmp_path / "aws-credentials"
    credentials.write_text(f"[logs]\naws_access_key_id = {bucket.key_id}\naws_secret_access_key = {bucket.secret}\n")
    monkeypatch.setenv("AWS_PROFILE", "logs")
    result = trend(ctoops, "s3://logs/opencto/", bucket.url)
    assert result.exit_code == 0, result.stderr
    assert sum(r["requests"] for r in json.loads(result.stdout)) == 400
    monkeypatch.setenv("AWS_PROFILE", "nope")
    one_line_error(trend(ctoops, "s3://logs/opencto/", bucket.url), 3, "nope", "AWS_PROFILE")


def test_a_missing_bucket_is_exit_2(ctoops, bucket, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", bucket.key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", bucket.secret)
    one_line_error(trend(ctoops, "s3://no-such-logs/opencto/", bucket.url), 2, "no such bucket: s3://no-such-logs/")


@pytest.mark.parametrize("url", ["s3://", "s3://ab/", "s3:///opencto/"])
def test_a_malformed_location_is_exit_2_before_any_request(ctoops, url):
    one_line_error(trend(ctoops, url, "http://127.0.0.1:9"), 2, "is not an S3 location", "s3://BUCKET/PREFIX/")


def test_a_malformed_endpoint_is_exit_2(ctoops, fake):
    # refused by the option's rule (the base-URL type), before any S3 call
    one_line_error(
        trend(ctoops, "s3://logs/opencto/", "not a url"), 2, "'--endpoint-url'", "'not a url' is not an http(s) URL"
    )


# -- the storage failing (fake S3 on 127.0.0.1) ---------------------------------------------------


def test_storage_failing_is_exit_4_naming_the_status_and_code(ctoops, fake):
    fake.route(
        "GET",
        "/logs",
        Reply(500, body=error("InternalError", "We encountered an internal error"), content_type="application/xml"),
    )
    result = trend(ctoops, "s3://logs/opencto/", fake.url)
    one_line_error(result, 4, "the storage failed on s3://logs/opencto/", "500 InternalError", fake.url)
    assert len(fake.seen("/logs")) == 1  # --max-retries 0: one attempt
    assert "fake-secret-never-shown" not in result.all


def test_storage_throttling_is_exit_5(ctoops, fake):
    fake.route(
        "GET",
        "/logs",
        Reply(503, body=error("SlowDown", "Please reduce your request rate."), content_type="application/xml"),
    )
    one_line_error(trend(ctoops, "s3://logs/opencto/", fake.url), 5, "throttling", "503 SlowDown")


def test_an_endpoint_that_is_not_s3_is_exit_4(ctoops, fake):
    fake.route("GET", "/logs", Reply(200, body="<html><body>Welcome to nginx!</body></html>", content_type="text/html"))
    one_line_error(trend(ctoops, "s3://logs/opencto/", fake.url), 4, "answered something that is not S3")


def test_an_unreachable_endpoint_is_exit_4(ctoops, fake):
    url = fake.url
    fake.close()  # nothing listens there any more
    one_line_error(trend(ctoops, "s3://logs/opencto/", url), 4, "cannot read s3://logs/opencto/", "Could not connect")


def test_a_body_cut_mid_way_resumes_from_the_byte_reached(ctoops, fake):
    cut = len(BODY) // 3
    fake.route("GET", "/logs", Reply(200, body=listing(), content_type="application/xml"))
    fake.route(
        "GET",
        f"/logs/{KEY}",
        Reply(
            200, body=BODY, content_type="binary/octet-stream", headers={"ETag": '"5d41402abc4b2a76"'}, cut_after=cut
        ),
        Reply(
            206,
            body=BODY[cut:],
            content_type="binary/octet-stream",
            headers={"Content-Range": f"bytes {cut}-{len(BODY) - 1}/{len(BODY)}"},
        ),
    )
    result = ctoops(
        "--max-retries", "1", "errors", "trend", "s3://logs/opencto/", "--endpoint-url", fake.url, "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    assert sum(r["requests"] for r in json.loads(result.stdout)) == 400
    assert sum(r["status_429"] for r in json.loads(result.stdout)) == 100
    first, second = fake.seen(f"/logs/{KEY}")
    assert "range" not in first.headers
    assert second.headers["range"] == f"bytes={cut}-"
    assert second.headers["if-match"] == '"5d41402abc4b2a76"'  # the same object, not a newer one


def test_a_body_that_keeps_breaking_is_exit_4_naming_the_object_and_byte(ctoops, fake):
    fake.route("GET", "/logs", Reply(200, body=listing(), content_type="application/xml"))
    fake.route("GET", f"/logs/{KEY}", Reply(200, body=BODY, content_type="binary/octet-stream", cut_after=100))
    result = trend(ctoops, "s3://logs/opencto/", fake.url)
    one_line_error(result, 4, f"the storage broke off s3://logs/{KEY} at byte 100")
    assert "malformed" not in result.stderr  # a storage failure is not a bad record


# -- names -------------------------------------------------------------------------------------


def test_name_times_and_day_folders():
    assert name_times(KEY) == (1795255200000, 1795255500000)
    assert name_times("logs/20240501/20240501T004901Z_20240501T004901Z_1747b6ef.log.gz") == (1714524541000,) * 2
    assert name_times("logs/20260101/foo.log.gz") is None
    assert name_times("logs/20261321T000000Z_20261321T000100Z_x.log.gz") is None  # month 13
    assert folder_day("20261121") == 1795219200000
    assert folder_day("2026112") is None and folder_day("20261399") is None and folder_day("http") is None
    assert parse_url("s3://logs/opencto/").prefix == "opencto/"
    assert parse_url("s3://logs").prefix == ""
