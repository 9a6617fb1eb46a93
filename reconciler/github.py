"""GitHub: one sticky pull-request comment, and committing the lockfile back to main.

The comment is found by a hidden marker at the start of its body (never by its visible text, which
changes), among the comments written by the token's own identity only: anyone can paste the
marker into a comment of theirs, which we could not update. It is updated in place; GitHub's REST
API is paginated (100 comments a page) and caps a comment at 65,536 characters. The lockfile
commit fetches, rebases and retries when main moved meanwhile.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.errors import ReconcilerError

COMMENT_LIMIT = 65_536
DEFAULT_MARKER = "reconciler:plan"
DEFAULT_API_URL = "https://api.github.com"
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"


class GitHubError(ReconcilerError):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        #: The HTTP status GitHub answered, when it answered.
        self.status = status


@dataclass(frozen=True)
class PullRequest:
    repository: str
    number: int


def pull_request_from_env(env: Mapping[str, str], number: int | None = None) -> PullRequest:
    """The pull request of the running workflow, from GITHUB_REPOSITORY and the event payload."""
    repository = env.get("GITHUB_REPOSITORY")
    if not repository:
        raise GitHubError(
            "GITHUB_REPOSITORY is not set; run this in GitHub Actions or set it (owner/repo)"
        )
    if number is None:
        number = _number_from_event(env)
    if number is None:
        raise GitHubError(
            "this run is not for a pull request (no number in GITHUB_EVENT_PATH or GITHUB_REF); "
            "pass --pr NUMBER"
        )
    return PullRequest(repository, number)


def _number_from_event(env: Mapping[str, str]) -> int | None:
    path = env.get("GITHUB_EVENT_PATH")
    if path:
        try:
            event = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            event = {}
        for key in ("pull_request", "issue"):
            number = (event.get(key) or {}).get("number")
            if isinstance(number, int):
                return number
    match = re.fullmatch(r"refs/pull/(\d+)/(merge|head)", env.get("GITHUB_REF", ""))
    return int(match.group(1)) if match else None


class GitHubApi:
    def __init__(self, token: str, api_url: str = DEFAULT_API_URL, timeout: float = 30) -> None:
        if not token:
            raise GitHubError(
                "no GitHub token: set GITHUB_TOKEN (in a workflow: ${{ github.token }})"
            )
        self.token = token
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout

    def request(
        self, method: str, url: str, body: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, str]]:
        if not url.startswith(("http://", "https://")):
            url = self.api_url + url
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Accept", "application/vnd.github+json")
        request.add_header("X-GitHub-Api-Version", "2022-11-28")
        request.add_header("User-Agent", "reconciler")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
                headers = {k.lower(): v for k, v in response.headers.items()}
        except urllib.error.HTTPError as exc:
            raise GitHubError(
                f"GitHub API {method} {_path(url)} failed: {exc.code} {_message(exc)}", exc.code
            ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise GitHubError(f"GitHub API {method} {_path(url)} failed: {reason}") from None
        return (json.loads(payload) if payload else None), headers

    def paginate(self, path: str) -> Iterator[dict[str, Any]]:
        url: str | None = path + ("&" if "?" in path else "?") + "per_page=100"
        while url:
            items, headers = self.request("GET", url)
            yield from items
            url = _next_link(headers.get("link", ""))


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def _message(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read() or b"{}")
        return str(body.get("message") or exc.reason)
    except ValueError:
        return str(exc.reason)


def _next_link(link: str) -> str | None:
    for part in link.split(","):
        match = re.search(r'<([^>]+)>\s*;\s*rel="next"', part)
        if match:
            return match.group(1)
    return None


#: What a marker may hold: it lives in an HTML comment, which `-->` (or a line break) would end.
MARKER_PATTERN = re.compile(r"[A-Za-z0-9_.:/]+(-[A-Za-z0-9_.:/]+)*")


def check_marker(marker: str) -> str:
    if MARKER_PATTERN.fullmatch(marker) is None:
        raise ValueError(
            "a marker is letters, digits and '_ . : / -' (no '--'), such as reconciler:plan:team-b"
        )
    return marker


def marker_line(marker: str) -> str:
    return f"<!-- {marker} -->"


def token_login(api: GitHubApi) -> str:
    """Who the token writes comments as. A workflow's GITHUB_TOKEN (an installation token) may not
    ask GET /user (403): its comments are github-actions[bot]'s."""
    try:
        user, _ = api.request("GET", "/user")
    except GitHubError as exc:
        if exc.status in (403, 404):
            return BOT_NAME
        raise
    login = user.get("login") if isinstance(user, dict) else None
    if not isinstance(login, str) or not login:
        raise GitHubError("GitHub API GET /user answered without a login; pass --author LOGIN")
    return login


def starts_with_marker(comment: dict[str, Any], marker: str) -> bool:
    body = comment.get("body")
    return isinstance(body, str) and body.split("\n", 1)[0].rstrip("\r") == marker_line(marker)


def author_of(comment: dict[str, Any]) -> str | None:
    user = comment.get("user")
    login = user.get("login") if isinstance(user, dict) else None
    return login if isinstance(login, str) else None


def comment_body(body: str, marker: str) -> str:
    """The comment with its marker, within GitHub's limit. A body too long is never cut (that
    could break a code fence or a <details> block): it is replaced by a pointer to the summary."""
    head = marker_line(marker) + "\n"
    if len(head) + len(body) <= COMMENT_LIMIT:
        return head + body
    return head + (
        f"**The plan is too long for a pull-request comment** ({len(body):,} characters; GitHub "
        "allows 65,536). The full plan is in the workflow run's job summary.\n"
    )


def upsert_comment(
    api: GitHubApi,
    pull: PullRequest,
    body: str,
    marker: str = DEFAULT_MARKER,
    author: str | None = None,
) -> tuple[str, str]:
    """Update our comment that starts with the marker, or create it. `author` is the login the
    token writes as (asked of GitHub when None). Returns (created|updated, its URL)."""
    text = comment_body(body, check_marker(marker))
    issue = f"/repos/{pull.repository}/issues/{pull.number}"
    for comment in api.paginate(f"{issue}/comments"):
        if not starts_with_marker(comment, marker):
            continue
        author = author or token_login(api)  # asked once, and only when a marker is seen
        if author_of(comment) == author:
            updated, _ = api.request(
                "PATCH", f"/repos/{pull.repository}/issues/comments/{comment['id']}", {"body": text}
            )
            return "updated", str(updated.get("html_url", ""))
    created, _ = api.request("POST", f"{issue}/comments", {"body": text})
    return "created", str(created.get("html_url", ""))


# --- committing the lockfile back ----------------------------------------------------------------


def _git(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise GitHubError(
            f"git {' '.join(args)} failed: {(result.stderr or result.stdout).strip()}"
        )
    return result


def _identity(cwd: Path) -> list[str]:
    """Commit as github-actions[bot] unless the repository says who to be."""
    if _git("config", "user.email", cwd=cwd, check=False).stdout.strip():
        return []
    return ["-c", f"user.name={BOT_NAME}", "-c", f"user.email={BOT_EMAIL}"]


def commit_lockfile(
    path: Path,
    message: str,
    *,
    remote: str = "origin",
    branch: str = "main",
    attempts: int = 5,
    delay: float = 2.0,
) -> str:
    """Commit `path` (and nothing else) and push it to `branch`, rebasing onto it when it moved.

    Returns "unchanged", or the pushed commit's SHA.
    """
    root = Path(
        _git(
            "rev-parse", "--show-toplevel", cwd=path.parent if path.parent.exists() else Path.cwd()
        ).stdout.strip()
    )
    relative = os.path.relpath(path.resolve(), root)
    if not _git("status", "--porcelain", "--", relative, cwd=root).stdout.strip():
        return "unchanged"
    _git("add", "--", relative, cwd=root)
    _git(*_identity(root), "commit", "--only", "-m", message, "--", relative, cwd=root)
    for attempt in range(1, attempts + 1):
        pushed = _git("push", remote, f"HEAD:refs/heads/{branch}", cwd=root, check=False)
        if pushed.returncode == 0:
            return _git("rev-parse", "HEAD", cwd=root).stdout.strip()
        if attempt == attempts:
            break
        _git("fetch", remote, branch, cwd=root)
        # --autostash: other files the run touched stay out of the commit and out of the way.
        rebased = _git(
            *_identity(root), "rebase", "--autostash", f"{remote}/{branch}", cwd=root, check=False
        )
        if rebased.returncode != 0:
            _git("rebase", "--abort", cwd=root, check=False)
            if "CONFLICT" not in rebased.stdout + rebased.stderr:
                raise GitHubError(
                    f"git rebase onto {remote}/{branch} failed: {rebased.stderr.strip()}"
                )
            raise GitHubError(
                f"{branch} changed {relative} while this run was applying, and the two cannot be "
                "combined; run the workflow again (apply adopts what this run created)"
            )
        time.sleep(delay * attempt)
    raise GitHubError(
        f"could not push {relative} to {branch} after {attempts} attempts: {pushed.stderr.strip()}"
    )
