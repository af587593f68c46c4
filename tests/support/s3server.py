"""A loopback S3-compatible server for the archive tests and benchmark: moto's server mode
(``moto.server.ThreadedMotoServer``, werkzeug + flask) in a child process, bound to
127.0.0.1 on a free port, with IAM authentication switched on so that a wrong key is
refused as S3 refuses it (``InvalidAccessKeyId``, ``SignatureDoesNotMatch``).

    with S3Server() as s3:                 # s3.url, s3.key_id, s3.secret
        client = s3.client()               # a boto3 client signed with the valid key

Run as a script it is the child: it prints its port, then serves until its stdin closes
(so it never outlives the test run that started it).
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from typing import Any

REGION = "us-east-1"


class S3Server:
    """The child process and a valid credential for it (an IAM user allowed ``s3:*``)."""

    def __init__(self, *, auth: bool = True) -> None:
        self._auth = auth  # False: moto's default, any key accepted (cheaper per request)
        self._child: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.key_id = ""
        self.secret = ""

    def __enter__(self) -> S3Server:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> None:
        self._child = subprocess.Popen(
            [sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        assert self._child.stdout is not None
        line = self._child.stdout.readline().decode().strip()
        if not line.isdigit():
            self.stop()
            raise RuntimeError(f"moto server did not start (is moto[server] installed?): {line!r}")
        self.url = f"http://127.0.0.1:{line}"
        if not self._auth:
            self.key_id, self.secret = "AKIAMOTOANYKEY000000", "moto-accepts-any-secret"
            return
        # Before authentication is on: an IAM user with full S3 rights, and its key
        iam = self.client("iam", key_id="setup", secret="setup")
        iam.create_user(UserName="ctoops-test")
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        iam.put_user_policy(UserName="ctoops-test", PolicyName="s3", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName="ctoops-test")["AccessKey"]
        self.key_id, self.secret = key["AccessKeyId"], key["SecretAccessKey"]
        # From now on every request is authenticated and authorised (moto's reset-auth API)
        request = urllib.request.Request(
            f"{self.url}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200

    def client(self, service: str = "s3", *, key_id: str | None = None, secret: str | None = None) -> Any:
        import boto3

        return boto3.session.Session().client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=key_id or self.key_id,
            aws_secret_access_key=secret or self.secret,
        )

    def stop(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        if child.stdin is not None:
            child.stdin.close()  # the child stops when its stdin closes
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


def _serve() -> None:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    print(server.get_host_and_port()[1], flush=True)
    sys.stdin.read()  # until the parent closes it (or dies)
    server.stop()


if __name__ == "__main__":
    _serve()
