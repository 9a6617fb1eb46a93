"""A small fake of GitHub's REST API for issue comments, served on loopback."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

#: The GITHUB_TOKEN of a workflow: an installation token, acting as github-actions[bot], for which
#: GET /user answers 403.
TOKEN = "ghs_faketoken"
BOT = "github-actions[bot]"
#: A personal access token: GET /user answers with its login.
USER_TOKEN = "ghp_fakeusertoken"
USER = "octo-deployer"
COMMENT_LIMIT = 65_536


class FakeGitHub:
    def __init__(self) -> None:
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, str]] = []
        self.fail_with: int | None = None
        #: token -> (login, whether GET /user answers for it)
        self.identities: dict[str, tuple[str, bool]] = {
            TOKEN: (BOT, False),
            USER_TOKEN: (USER, True),
        }
        self._next_id = 1000
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_PATCH(self) -> None:
                fake._handle(self, "PATCH")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def seed(self, number: int, bodies: list[str], author: str = BOT) -> None:
        for body in bodies:
            self._add(number, body, author)

    def _add(self, number: int, body: str, author: str) -> dict[str, Any]:
        self._next_id += 1
        comment = {
            "id": self._next_id,
            "body": body,
            "html_url": f"https://github.test/c/{self._next_id}",
            "user": {"login": author, "type": "Bot" if author.endswith("[bot]") else "User"},
        }
        self.comments.setdefault(number, []).append(comment)
        return comment

    def _reply(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        url = urlparse(handler.path)
        with self._lock:
            self.requests.append((method, handler.path))
        authorization = handler.headers.get("Authorization", "")
        token = authorization.removeprefix("Bearer ")
        if not authorization.startswith("Bearer ") or token not in self.identities:
            self._reply(handler, 401, {"message": "Bad credentials"})
            return
        login, has_user = self.identities[token]
        if self.fail_with is not None:
            self._reply(
                handler, self.fail_with, {"message": "Resource not accessible by integration"}
            )
            return
        length = int(handler.headers.get("Content-Length") or 0)
        payload = json.loads(handler.rfile.read(length)) if length else {}
        listing = re.fullmatch(r"/repos/[^/]+/[^/]+/issues/(\d+)/comments", url.path)
        single = re.fullmatch(r"/repos/[^/]+/[^/]+/issues/comments/(\d+)", url.path)
        with self._lock:
            if url.path == "/user" and method == "GET":
                if has_user:
                    self._reply(handler, 200, {"login": login, "type": "User"})
                else:
                    self._reply(handler, 403, {"message": "Resource not accessible by integration"})
            elif listing and method == "GET":
                self._list(handler, int(listing.group(1)), url.path, parse_qs(url.query))
            elif listing and method == "POST":
                if len(payload["body"]) > COMMENT_LIMIT:
                    self._reply(
                        handler, 422, {"message": "Body is too long (maximum is 65536 characters)"}
                    )
                    return
                self._reply(handler, 201, self._add(int(listing.group(1)), payload["body"], login))
            elif single and method == "PATCH":
                if len(payload["body"]) > COMMENT_LIMIT:
                    self._reply(
                        handler, 422, {"message": "Body is too long (maximum is 65536 characters)"}
                    )
                    return
                for comments in self.comments.values():
                    for comment in comments:
                        if comment["id"] == int(single.group(1)):
                            if comment["user"]["login"] != login:
                                self._reply(
                                    handler,
                                    403,
                                    {"message": "Resource not accessible by integration"},
                                )
                                return
                            comment["body"] = payload["body"]
                            self._reply(handler, 200, comment)
                            return
                self._reply(handler, 404, {"message": "Not Found"})
            else:
                self._reply(handler, 404, {"message": "Not Found"})

    def _list(
        self, handler: BaseHTTPRequestHandler, number: int, path: str, query: dict[str, list[str]]
    ) -> None:
        per_page = min(int(query.get("per_page", ["30"])[0]), 100)
        page = int(query.get("page", ["1"])[0])
        comments = self.comments.get(number, [])
        chunk = comments[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(comments):
            headers["Link"] = f'<{self.url}{path}?per_page={per_page}&page={page + 1}>; rel="next"'
        self._reply(handler, 200, chunk, headers)


@contextmanager
def pull_request_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, number: int = 7
) -> Iterator[FakeGitHub]:
    """A fake GitHub, and the environment of a workflow run for pull request `number` against it."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": number}}))
    with FakeGitHub() as fake:
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_REPOSITORY", "acme/ml-lineage")
        monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
        monkeypatch.delenv("RECONCILER_COMMENT_AUTHOR", raising=False)
        yield fake
