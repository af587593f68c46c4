"""The object-storage edge of ``errors trend s3://...``: a boto3 S3 client, its errors as
ctoops' exit codes, and objects read as streams, several fetched ahead at once.

Why boto3 (and not ``pyarrow.fs.S3FileSystem``, already a dependency): Cloudflare documents
boto3 against R2's S3 endpoint (developers.cloudflare.com, ``r2/examples/aws/boto3``), while
pyarrow against R2 is unverified; boto3 raises S3's own error codes (``NoSuchBucket``,
``InvalidAccessKeyId``, ``SlowDown``...), which map onto exit codes without reading message
text, where pyarrow raises ``OSError`` with a sentence; and it reads the whole AWS
configuration the way the ``aws`` CLI does (``AWS_PROFILE``, ``AWS_ENDPOINT_URL_S3``, the
profile's ``endpoint_url``), where pyarrow ignores ``AWS_ENDPOINT_URL`` (apache/arrow#49643).
docs/archives.md says more.
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, BinaryIO

from ctoops.errors import BadInput, CtoopsError, NotAuthenticated, RateLimited, UpstreamError
from ctoops.redact import register

if TYPE_CHECKING:
    from ctoops.trends.archives import Storage

AHEAD = 8  # objects fetched ahead of the one being parsed
HEAD = 4 << 20  # bytes of each fetched-ahead object held in memory; the rest streams when read
# memory held by fetching ahead: at most AHEAD x HEAD = 32 MiB, whatever the number of objects

# S3 error codes meaning the credential is missing, wrong, expired or not allowed
# (docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html; R2 answers with the same codes)
REFUSED = {
    "AccessDenied",
    "AllAccessDisabled",
    "ExpiredToken",
    "InvalidAccessKeyId",
    "InvalidToken",
    "SignatureDoesNotMatch",
    "TokenRefreshRequired",
    "Unauthorized",
}
THROTTLED = {"SlowDown", "TooManyRequests", "RequestLimitExceeded", "Throttling", "ThrottlingException"}
CREDENTIALS_FIX = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (for R2: an R2 API token's "
    "Access Key ID and Secret Access Key)"
)


def client(storage: Storage, log: Callable[[str], None] | None = None) -> Any:
    """A boto3 S3 client for ``storage``: its endpoint (else ``AWS_ENDPOINT_URL_S3``,
    ``AWS_ENDPOINT_URL``, the profile's, then AWS's), ``timeout`` seconds to connect and per
    read, ``max_retries`` retries (botocore's standard mode), a connection per fetching thread.

    Credentials come from boto3's usual chain (environment, ``AWS_PROFILE`` and the shared
    files, then instance or container roles); the secret is registered for masking.
    Raises NotAuthenticated (3) for an unknown profile, BadInput (2) for a bad endpoint URL."""
    import boto3
    import botocore.exceptions
    from botocore.config import Config

    config = Config(
        connect_timeout=storage.timeout,
        read_timeout=storage.timeout,
        retries={"total_max_attempts": storage.max_retries + 1, "mode": "standard"},
        max_pool_connections=AHEAD + 4,
        # ctoops only reads; gzip checks its own CRC32 per member, so a second checksum over
        # every byte is not computed (R2 also refused botocore >= 1.36's default on writes)
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        user_agent_extra="ctoops",
    )
    from ctoops.redact import url_secrets

    # a password in an endpoint URL (the flag, the aws CLI's variables, a profile) is masked in
    # every message, botocore's "Could not connect to the endpoint URL" included
    for url in (storage.endpoint_url, os.environ.get("AWS_ENDPOINT_URL_S3"), os.environ.get("AWS_ENDPOINT_URL")):
        for secret in url_secrets(url or ""):
            register(secret)
    try:
        session = boto3.session.Session()
        s3 = session.client("s3", endpoint_url=storage.endpoint_url or None, config=config)
        for secret in url_secrets(str(s3.meta.endpoint_url or "")):
            register(secret)
        credentials = session.get_credentials()
    except botocore.exceptions.ProfileNotFound as exc:
        raise NotAuthenticated(f"{exc} (AWS_PROFILE names a profile of ~/.aws/config or ~/.aws/credentials)") from None
    except ValueError as exc:  # botocore's InvalidEndpoint... are ValueErrors
        raise BadInput(f"--endpoint-url {storage.endpoint_url!r} is not usable: {exc}") from None
    if credentials is not None:
        register(credentials.secret_key)
        register(credentials.token)
    if log is not None:
        _log_calls(s3, log)
    return s3


def _log_calls(s3: Any, log: Callable[[str], None]) -> None:
    """``-v``: one stderr line per S3 call: operation, key, HTTP status, milliseconds."""
    started: dict[int, float] = {}

    def before(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        started[id(context)] = time.perf_counter()

    def after(http_response: Any, parsed: Any, model: Any, context: dict[str, Any], **_: Any) -> None:
        ms = (time.perf_counter() - started.pop(id(context), time.perf_counter())) * 1000
        status = getattr(http_response, "status_code", "-")
        log(f"S3 {model.name} {status} {ms:.0f} ms")

    s3.meta.events.register("before-call.s3", before)
    s3.meta.events.register("after-call.s3", after)


def translate(exc: BaseException, what: str, endpoint: str) -> CtoopsError | None:
    """The ctoops error for a boto3/botocore failure while reaching ``what`` (an ``s3://``
    name), or None when ``exc`` is not one of theirs. Exit codes: 3 no or refused credential,
    2 no such bucket or a request the storage calls malformed, 5 throttled after retries,
    4 unreachable, timed out, failing (5xx) or answering something that is not S3."""
    import botocore.exceptions as bx
    from botocore.parsers import ResponseParserError

    where = f"{what} (endpoint {endpoint})"
    if isinstance(exc, (bx.NoCredentialsError, bx.PartialCredentialsError)):
        return NotAuthenticated(f"no S3 credentials to read {where}: {CREDENTIALS_FIX}")
    if isinstance(exc, bx.ProfileNotFound):
        return NotAuthenticated(f"{exc} (AWS_PROFILE)")
    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "")
        message = str(error.get("Message") or "").rstrip(".")
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        said = f"{status} {code}: {message}" if message else f"{status} {code}"
        if code == "NoSuchBucket":
            return BadInput(f"no such bucket: {where}")
        if code in REFUSED or status in (401, 403):
            return NotAuthenticated(f"the storage refused the credentials for {where} ({said}); {CREDENTIALS_FIX}")
        if code in THROTTLED or status == 429:
            return RateLimited(f"the storage kept throttling reads of {where} ({said}) after retries")
        if status >= 500 or not status:
            return UpstreamError(f"the storage failed on {where} ({said}) after retries")
        if code == "PreconditionFailed":
            return UpstreamError(f"{what} changed while it was being read (its ETag moved)")
        if code == "NoSuchKey":
            return UpstreamError(f"{what} was listed but is gone (deleted since, by a lifecycle rule?)")
        return BadInput(f"the storage refused the request for {where} ({said})")
    if isinstance(exc, bx.ParamValidationError):
        return BadInput(f"{what} is not a valid S3 location: {exc}")
    if isinstance(exc, (ResponseParserError, bx.UnknownEndpointError)):
        return UpstreamError(f"the storage at {endpoint} answered something that is not S3 for {what}")
    if isinstance(exc, (bx.BotoCoreError, bx.HTTPClientError)):
        return UpstreamError(f"cannot read {where}: {exc}")
    return None


def call(fn: Callable[..., Any], what: str, endpoint: str, **params: Any) -> Any:
    """``fn(**params)`` with boto3's failures turned into ctoops errors (see ``translate``)."""
    try:
        return fn(**params)
    except Exception as exc:
        error = translate(exc, what, endpoint)
        if error is None:
            raise
        raise error from None


# -- objects as streams -------------------------------------------------------------------------


class ObjectStream(io.RawIOBase):
    """One object's bytes from the start, read once. A read that breaks mid-body (reset,
    timeout, short body) resumes with a ranged GET from the byte reached, pinned to the
    object's ETag, up to ``retries`` times; then UpstreamError (exit 4) naming the object
    and the byte. ``fill(n)`` reads the first ``n`` bytes ahead, into memory."""

    def __init__(self, s3: Any, bucket: str, key: str, name: str, endpoint: str, retries: int) -> None:
        super().__init__()
        self._s3, self._bucket, self._key, self._name = s3, bucket, key, name
        self._endpoint, self._retries = endpoint, retries
        self._body: Any = None
        self._etag: str | None = None
        self._head = b""
        self._head_at = 0
        self._position = 0  # bytes taken from the storage so far
        self._done = False

    def readable(self) -> bool:
        return True

    def fill(self, size: int) -> None:
        """Fetch the first ``size`` bytes now (a whole small object); the rest waits for reads."""
        parts: list[bytes] = []
        wanted = size
        while wanted > 0:
            data = self._pull(wanted)
            if not data:
                break
            parts.append(data)
            wanted -= len(data)
        self._head = b"".join(parts)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._head_at < len(self._head):
            n = min(len(view), len(self._head) - self._head_at)
            view[:n] = self._head[self._head_at : self._head_at + n]
            self._head_at += n
            if self._head_at == len(self._head):
                self._head = b""  # let it go: it has been handed on
                self._head_at = 0
            return n
        data = self._pull(len(view))
        view[: len(data)] = data
        return len(data)

    def _pull(self, size: int) -> bytes:
        attempt = 0
        while not self._done:
            if self._body is None:
                self._get()  # botocore has retried the GET itself
            try:
                data: bytes = self._body.read(size)
            except Exception as exc:
                if not _broken(exc):
                    raise
                if attempt >= self._retries:
                    raise UpstreamError(
                        f"the storage broke off {self._name} at byte {self._position:,} "
                        f"({attempt + 1} attempt(s)): {exc}"
                    ) from None
                attempt += 1
                self._drop_body()
                continue
            if not data:
                self._done = True
                self._drop_body()
                break
            self._position += len(data)
            return data
        return b""

    def _get(self) -> None:
        params: dict[str, Any] = {"Bucket": self._bucket, "Key": self._key}
        if self._position:
            params["Range"] = f"bytes={self._position}-"
            if self._etag:
                params["IfMatch"] = self._etag  # the same object, not one written since
        response = call(self._s3.get_object, self._name, self._endpoint, **params)
        self._etag = self._etag or response.get("ETag")
        self._body = response["Body"]

    def _drop_body(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            try:
                body.close()
            except Exception:  # closing a broken connection can fail too; nothing is lost
                pass

    def close(self) -> None:
        self._drop_body()
        self._head = b""
        super().close()


def _broken(exc: BaseException) -> bool:
    """A body read that failed in transport (reset, timeout, short body): worth resuming."""
    import botocore.exceptions as bx
    from urllib3.exceptions import HTTPError

    return isinstance(exc, (OSError, HTTPError, bx.BotoCoreError))


class Fetcher:
    """Opens objects in list order, keeping the next ``AHEAD`` fetched by a thread pool (each
    up to ``HEAD`` bytes in memory), so a slow first byte from the storage overlaps with the
    parsing of the objects before it. ``opener(i)`` is the zero-argument open of object i."""

    def __init__(self, s3: Any, bucket: str, names: list[str], endpoint: str, retries: int) -> None:
        """``names``: ``s3://bucket/key`` of each object, in the order they will be opened (the
        keys are not kept apart: a month of Logpush objects is 86,400 of them)."""
        self._s3, self._bucket, self._names = s3, bucket, names
        self._skip = len(f"s3://{bucket}/")
        self._endpoint, self._retries = endpoint, retries
        self._pool: ThreadPoolExecutor | None = None
        self._pending: dict[int, Future[ObjectStream]] = {}
        self._submitted = 0
        self._lock = threading.Lock()

    def opener(self, index: int) -> Callable[[], BinaryIO]:
        return lambda: self.open(index)

    def _fetch(self, index: int) -> ObjectStream:
        name = self._names[index]
        stream = ObjectStream(self._s3, self._bucket, name[self._skip :], name, self._endpoint, self._retries)
        try:
            stream.fill(HEAD)
        except BaseException:
            stream.close()
            raise
        return stream

    def open(self, index: int) -> BinaryIO:
        """Object ``index`` as a buffered stream; its fetch errors are raised here."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(AHEAD, thread_name_prefix="ctoops-s3")
            end = min(index + AHEAD, len(self._names))
            while self._submitted < end:
                self._pending[self._submitted] = self._pool.submit(self._fetch, self._submitted)
                self._submitted += 1
            future = self._pending.pop(index, None)
            if self._submitted >= len(self._names) and not self._pending:
                self._pool.shutdown(wait=False)
        stream = future.result() if future is not None else self._fetch(index)
        return io.BufferedReader(stream, buffer_size=1 << 20)

    def close(self) -> None:
        """Cancel what has not started; drop what was fetched ahead and not read."""
        with self._lock:
            pending, self._pending = self._pending, {}
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
        for future in pending.values():
            if future.done() and not future.cancelled() and future.exception() is None:
                future.result().close()
