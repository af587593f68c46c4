"""A loopback Cloudflare tail: the REST create/delete (on a FakeServer) and the ``trace-v1``
WebSocket (websockets' sync server on 127.0.0.1), each connection playing one script.

Shapes: ``../shared/reference/cloudflare-live-sources.md`` §1 (``result {id, url,
expires_at}``, the first client message ``{"debug": false}``, events as ``wrangler tail
--format json`` objects, tail info ``{"type": "overload"|"overload-stop", "message"}``).

Script actions, per connection, in order:
``("event", obj)`` send one message; ``("raw", text)`` send text as is; ``("close", code)``
close with that code; ``("stall",)`` stop answering anything, pings included (a silent
connection); the connection stays open and quiet once its script is played.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from cf_traffic import ACCOUNT, SCRIPT
from fakeserver import FakeServer, Reply, Seen

TAILS = f"/client/v4/accounts/{ACCOUNT}/workers/scripts/{SCRIPT}/tails"
OVERLOAD = "Tail is currently in sampling mode due to the high volume of messages. To prevent messages from being dropped consider adding filters."
OVERLOAD_STOP = "Tail has exited sampling mode and is no longer dropping messages."


def notice(kind: str, ts_ms: int) -> dict[str, Any]:
    message = OVERLOAD if kind == "overload" else OVERLOAD_STOP
    return {
        "outcome": "ok",
        "scriptName": None,
        "exceptions": [],
        "logs": [],
        "eventTimestamp": ts_ms,
        "event": {"message": message, "type": kind},
    }


class TailServer:
    def __init__(
        self,
        rest: FakeServer,
        scripts: list[list[tuple]],
        *,
        expires_at: str | None = None,
        expiries: list[str] | None = None,
    ) -> None:
        import time

        from websockets.sync.server import serve

        later = time.time() + 4 * 3600  # wrangler's tails last 4-6 h [3P]
        expires_at = expires_at or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(later))
        self.rest = rest
        self.scripts = list(scripts)
        self.expiries = list(expiries or [])
        self.expires_at = expires_at
        self.created: list[str] = []
        self.first_messages: list[str] = []
        self.subprotocols: list[str | None] = []
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.ws = serve(self._handle, "127.0.0.1", 0, subprotocols=["trace-v1"])
        self.port = self.ws.socket.getsockname()[1]
        self.thread = threading.Thread(target=self.ws.serve_forever, daemon=True)
        self.thread.start()
        rest.route("POST", TAILS, self._create)
        for n in range(1, 20):
            rest.route("DELETE", f"{TAILS}/tail{n}", Reply(json={"success": True, "errors": [], "messages": []}))

    def _create(self, seen: Seen) -> Reply:
        with self.lock:
            tail_id = f"tail{len(self.created) + 1}"
            self.created.append(seen.body.decode())
            expires = self.expiries.pop(0) if self.expiries else self.expires_at
        result = {"id": tail_id, "url": f"ws://127.0.0.1:{self.port}/{tail_id}", "expires_at": expires}
        return Reply(json={"success": True, "errors": [], "messages": [], "result": result})

    @property
    def deleted(self) -> list[str]:
        return [s.path.rsplit("/", 1)[1] for s in self.rest.seen() if s.method == "DELETE"]

    def _handle(self, ws: Any) -> None:
        self.subprotocols.append(ws.subprotocol)
        try:
            self.first_messages.append(ws.recv(timeout=5))
        except Exception:
            return
        with self.lock:
            script = self.scripts.pop(0) if self.scripts else []
            last = not self.scripts
        for action in script:
            if action[0] == "event":
                ws.send(json.dumps(action[1]))
            elif action[0] == "raw":
                ws.send(action[1])
            elif action[0] == "close":
                ws.close(action[1])
                return
            elif action[0] == "stall":
                ws.protocol.send_frame = lambda frame: None  # no pong, no data: a black hole
                break
        if last:
            self.done.set()
        try:
            for _ in ws:  # quiet until the client goes
                pass
        except Exception:
            pass

    def close(self) -> None:
        self.ws.shutdown()
