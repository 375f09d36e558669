"""A small fake of Daily's REST API on loopback, for tests: grouport's real client talks to it.

It keeps the rules grouport relies on (https://docs.daily.co/reference/rest-api):
``Authorization: Bearer <api key>`` or 401; ``POST /v1/rooms`` creates a room once (a second
room of the same name is a 400 ``invalid-request-error``, "already exists"); ``GET
/v1/rooms/<name>`` answers it or 404 ``not-found``; ``POST /v1/meeting-tokens`` needs
``properties.room_name`` naming an existing room and answers ``{"token": ...}``; ``GET
/v1/rooms/<name>/presence`` answers ``{"total_count", "data": [{"userId", "userName",
"joinTime", ...}]}`` for the people in the room (404 for a room that does not exist).
Browser tests serve the rooms themselves (``room_origin``): opening a room with a valid
token (``?t=``) puts its holder in the room, as joining Daily Prebuilt would. Properties
are type-checked as Daily does (``exp``/``nbf`` integers, ``enable_knocking``/``is_owner``
booleans, ``max_participants`` an integer). Every request is recorded, so tests read the
exact room properties and token properties grouport asked for.
"""

import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY = "daily-test-api-key"
DOMAIN = "grouport-test.daily.co"


@dataclass
class Recorded:
    method: str
    path: str
    body: dict[str, Any]


@dataclass
class FakeDaily:
    url: str = ""
    room_origin: str = ""  # where rooms are served: Daily's domain, or this server (browser tests)
    rooms: dict[str, dict] = field(default_factory=dict)
    tokens: list[dict] = field(default_factory=list)  # the properties of every token made
    issued: dict[str, dict] = field(default_factory=dict)  # token: its properties
    present: dict[str, list[dict]] = field(default_factory=dict)  # room: who is in it
    requests: list[Recorded] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def create_room(self, body: dict) -> tuple[int, dict]:
        name = body.get("name")
        properties = body.get("properties") or {}
        if not isinstance(name, str) or not name or not isinstance(properties, dict):
            return 400, _error("invalid-request-error", "name must be a string")
        for key in ("exp", "nbf", "max_participants"):
            if key in properties and not isinstance(properties[key], int):
                return 400, _error("invalid-request-error", f"{key} must be an integer")
        for key in ("enable_knocking", "eject_at_room_exp", "enable_prejoin_ui"):
            if key in properties and not isinstance(properties[key], bool):
                return 400, _error("invalid-request-error", f"{key} must be a boolean")
        if name in self.rooms:
            return 400, _error("invalid-request-error", f"a room named {name} already exists")
        room = {
            "id": secrets.token_hex(8),
            "name": name,
            "api_created": True,
            "privacy": body.get("privacy", "public"),
            "url": f"{self.room_origin or 'https://' + DOMAIN}/{name}",
            "config": properties,
        }
        self.rooms[name] = room
        return 200, room

    def create_token(self, body: dict) -> tuple[int, dict]:
        properties = body.get("properties") or {}
        room = properties.get("room_name")
        if room not in self.rooms:
            return 400, _error("invalid-request-error", "room_name must name an existing room")
        for key in ("exp", "nbf"):
            if key in properties and not isinstance(properties[key], int):
                return 400, _error("invalid-request-error", f"{key} must be an integer")
        if "is_owner" in properties and not isinstance(properties["is_owner"], bool):
            return 400, _error("invalid-request-error", "is_owner must be a boolean")
        self.tokens.append(properties)
        token = f"daily-token-{len(self.tokens)}-{secrets.token_hex(8)}"
        self.issued[token] = properties
        return 200, {"token": token}

    def join(self, room: str, token: str) -> bool:
        """Someone opens the room with ``token``: in, if it is a token for this room and valid now."""
        import time

        properties = self.issued.get(token)
        if properties is None or properties.get("room_name") != room:
            return False
        now = int(time.time())
        if properties.get("nbf", 0) > now or properties.get("exp", now + 1) <= now:
            return False
        self.present.setdefault(room, []).append(
            {
                "room": room,
                "id": secrets.token_hex(8),
                "userId": properties.get("user_id", ""),
                "userName": properties.get("user_name", ""),
                "joinTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now)),
                "duration": 0,
            }
        )
        return True

    def presence(self, room: str) -> tuple[int, dict]:
        if room not in self.rooms:
            return 404, _error("not-found", "room not found")
        data = list(self.present.get(room, []))
        return 200, {"total_count": len(data), "data": data}


def _error(kind: str, info: str) -> dict:
    return {"error": kind, "info": info}


def make_handler(fake: FakeDaily) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = None
            with fake.lock:
                fake.requests.append(Recorded(method, self.path, body if isinstance(body, dict) else {}))
                if fake.fail_next:
                    status = fake.fail_next.pop(0)
                    return self._send(status, _error("server-error", "fake failure"))
                if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                    return self._send(401, _error("authentication-error", "Unauthorized"))
                if not isinstance(body, dict):
                    return self._send(400, _error("invalid-request-error", "body must be JSON"))
                if method == "POST" and self.path == "/v1/rooms":
                    return self._send(*fake.create_room(body))
                path = self.path.split("?")[0]
                if method == "GET" and path.startswith("/v1/rooms/") and path.endswith("/presence"):
                    return self._send(
                        *fake.presence(path.removeprefix("/v1/rooms/").removesuffix("/presence"))
                    )
                if method == "GET" and path.startswith("/v1/rooms/"):
                    room = fake.rooms.get(path.removeprefix("/v1/rooms/"))
                    return (
                        self._send(200, room)
                        if room
                        else self._send(404, _error("not-found", "room not found"))
                    )
                if method == "POST" and self.path == "/v1/meeting-tokens":
                    return self._send(*fake.create_token(body))
                return self._send(404, _error("not-found", "no such endpoint"))

        def do_GET(self) -> None:
            name = self.path.split("?")[0].lstrip("/")
            if name in fake.rooms:  # the room itself, as Daily Prebuilt would serve it
                from urllib.parse import parse_qs, urlsplit

                token = (parse_qs(urlsplit(self.path).query).get("t") or [""])[0]
                with fake.lock:
                    joined = fake.join(name, token)
                words = f"Room {name}" if joined else "This room is private"
                data = f"<!doctype html><title>Fake Daily room</title><h1>{words}</h1>".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

    return Handler


def start(fake: FakeDaily | None = None) -> tuple[FakeDaily, ThreadingHTTPServer]:
    fake = fake or FakeDaily()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return fake, server


def use_in_settings(settings, fake: FakeDaily) -> None:
    settings.VIDEO_PROVIDER = "daily"
    settings.DAILY_API_KEY = API_KEY
    settings.DAILY_API_BASE = fake.url + "/v1"
    settings.DAILY_DOMAIN = DOMAIN
