"""The sandbox answers every request: forged tokens, broken framing, idle and hostile clients.

Raw HTTP over a loopback socket, so that requests botocore would never send can be sent."""

from __future__ import annotations

import base64
import json
import re
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest
from botocore.exceptions import ClientError

from reconciler.sandbox import Sandbox, SandboxConfig
from tests.sandboxed import sm as client

REGION = "eu-west-1"
AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKID/20261129/eu-west-1/sagemaker/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0123"
)
ARN = "arn:aws:sagemaker:eu-west-1:123456789012:artifact/"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(idle_timeout=2.0)) as running:
        yield running


def connect(sandbox: Sandbox) -> socket.socket:
    url = urlparse(sandbox.url)
    return socket.create_connection((url.hostname or "", url.port or 0), timeout=5)


def head(target: str, **headers: str) -> bytes:
    lines = [
        "POST / HTTP/1.1",
        "Host: sandbox",
        f"X-Amz-Target: SageMaker.{target}",
        f"Authorization: {AUTH}",
        "Content-Type: application/x-amz-json-1.1",
        *(f"{key.replace('_', '-')}: {value}" for key, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def request(target: str, body: Any) -> bytes:
    payload = json.dumps(body).encode()
    return head(target, Content_Length=str(len(payload))) + payload


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document


def read_response(sock: socket.socket, buffer: bytearray) -> Response:
    """One response off the socket; what follows it stays in `buffer`."""
    deadline = time.monotonic() + 5
    while b"\r\n\r\n" not in buffer:
        assert time.monotonic() < deadline, "no response head"
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed without an answer (got {bytes(buffer)!r})"
        buffer += chunk
    raw_head, _, _ = bytes(buffer).partition(b"\r\n\r\n")
    del buffer[: len(raw_head) + 4]
    status_line, *header_lines = raw_head.decode("latin-1").split("\r\n")
    headers = {
        key.strip().lower(): value.strip()
        for key, _, value in (line.partition(":") for line in header_lines)
    }
    length = int(headers.get("content-length", "0"))
    while len(buffer) < length:
        assert time.monotonic() < deadline, "a truncated response body"
        chunk = sock.recv(65536)
        assert chunk, "the connection closed inside a response body"
        buffer += chunk
    body = bytes(buffer[:length])
    del buffer[:length]
    return Response(int(status_line.split()[1]), headers, body)


def exchange(sandbox: Sandbox, data: bytes) -> Response:
    with connect(sandbox) as sock:
        sock.sendall(data)
        return read_response(sock, bytearray())


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """True when the server closes the connection within `within` seconds."""
    sock.settimeout(within)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


def token(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


# --- forged pagination tokens -------------------------------------------------------------------


FORGED_TOKENS = [
    token(["text", 1]),
    token([None]),
    token([[1], {"a": 1}]),
    token([1.5]),
    token({"after": ["x", 1]}),
    token({"after": [1.0, "x"], "extra": True}),
    token("a string"),
    token(12),
    base64.urlsafe_b64encode(b"\xff\xfe not json").decode(),
    base64.urlsafe_b64encode(b"[1, 2").decode(),
    "%%%not-base64%%%",
]


def populate(sandbox: Sandbox) -> str:
    sm = client(sandbox)
    arns = [
        sm.create_artifact(
            Source={"SourceUri": f"s3://acme/{i}"},
            ArtifactType="DataSet",
            Tags=[{"Key": f"k{j}", "Value": "v"} for j in range(3)],
        )["ArtifactArn"]
        for i in range(3)
    ]
    sm.add_association(SourceArn=arns[0], DestinationArn=arns[1])
    sm.add_association(SourceArn=arns[1], DestinationArn=arns[2])
    first: str = arns[0]
    return first


@pytest.mark.parametrize("forged", FORGED_TOKENS)
def test_a_forged_next_token_is_a_validation_error_on_every_list(
    sandbox: Sandbox, forged: str
) -> None:
    arn = populate(sandbox)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("ListArtifacts", {}),
        ("ListArtifacts", {"SortOrder": "Ascending"}),
        ("ListTags", {"ResourceArn": arn}),
        ("ListAssociations", {}),
        ("ListAssociations", {"SortBy": "SourceArn"}),
    ]
    for operation, params in calls:
        response = exchange(sandbox, request(operation, {**params, "NextToken": forged}))
        assert (response.status, response.json()["__type"]) == (400, "ValidationException"), (
            operation,
            response.body,
        )
        assert "NextToken" in response.json()["message"]


def test_a_forged_next_token_through_boto3(sandbox: Sandbox) -> None:
    populate(sandbox)
    sm = client(sandbox)
    with pytest.raises(ClientError) as info:
        sm.list_artifacts(NextToken=token(["text", 1]))
    assert info.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as info:
        sm.list_associations(NextToken=token([None, None, None]))
    assert info.value.response["Error"]["Code"] == "ValidationException"


def test_a_token_of_one_list_does_not_page_another(sandbox: Sandbox) -> None:
    arn = populate(sandbox)
    sm = client(sandbox)
    artifacts_token = sm.list_artifacts(MaxResults=1)["NextToken"]
    with pytest.raises(ClientError) as info:
        sm.list_tags(ResourceArn=arn, NextToken=artifacts_token)
    assert info.value.response["Error"]["Code"] == "ValidationException"


# --- framing --------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", ["abc", "-5", "1e3", "", "99999999999999999999999"])
def test_a_broken_content_length_is_a_400_and_closes(sandbox: Sandbox, length: str) -> None:
    with connect(sandbox) as sock:
        sock.sendall(head("ListArtifacts", Content_Length=length) + b"{}")
        response = read_response(sock, bytearray())
        assert response.status in (400, 413)
        assert response.headers.get("connection") == "close"
        assert closed_by_server(sock, within=3)


def test_a_chunked_body_is_decoded_and_the_connection_stays_in_step(sandbox: Sandbox) -> None:
    body = json.dumps({"Source": {"SourceUri": "s3://acme/chunked"}, "ArtifactType": "DataSet"})
    chunks = b"".join(
        f"{len(part):x};ext=1\r\n".encode() + part.encode() + b"\r\n"
        for part in (body[:10], body[10:25], body[25:])
    )
    with connect(sandbox) as sock:
        buffer = bytearray()
        sock.sendall(
            head("CreateArtifact", Transfer_Encoding="chunked")
            + chunks
            + b"0\r\nX-Trailer: t\r\n\r\n"
        )
        created = read_response(sock, buffer)
        assert created.status == 200, created.body
        assert created.json()["ArtifactArn"].startswith(ARN)
        # The next request on the same connection is read as a request, not as leftovers.
        sock.sendall(request("ListArtifacts", {"SourceUri": "s3://acme/chunked"}))
        listed = read_response(sock, buffer)
        assert listed.status == 200
        assert [s["ArtifactArn"] for s in listed.json()["ArtifactSummaries"]] == [
            created.json()["ArtifactArn"]
        ]


@pytest.mark.parametrize(
    "data",
    [
        b"zz\r\n{}\r\n0\r\n\r\n",  # not a hexadecimal size
        b"2\r\n{}XX0\r\n\r\n",  # no CRLF after the chunk
        b"-2\r\n{}\r\n0\r\n\r\n",
        b"fffffffffffffffffffff\r\n",
    ],
)
def test_a_malformed_chunked_body_is_a_400_and_closes(sandbox: Sandbox, data: bytes) -> None:
    with connect(sandbox) as sock:
        sock.sendall(head("ListArtifacts", Transfer_Encoding="chunked") + data)
        response = read_response(sock, bytearray())
        assert response.status in (400, 413)
        assert response.headers.get("connection") == "close"
        assert closed_by_server(sock, within=3)
    assert client(sandbox).list_artifacts()["ArtifactSummaries"] == []


def test_chunked_with_a_content_length_or_another_coding_is_refused(sandbox: Sandbox) -> None:
    both = head("ListArtifacts", Transfer_Encoding="chunked", Content_Length="2") + b"{}"
    assert exchange(sandbox, both).status == 400
    gzip = head("ListArtifacts", Transfer_Encoding="gzip, chunked") + b"0\r\n\r\n"
    assert exchange(sandbox, gzip).status in (400, 501)


def test_a_get_with_a_body_does_not_leave_it_for_the_next_request(sandbox: Sandbox) -> None:
    with connect(sandbox) as sock:
        buffer = bytearray()
        sock.sendall(b"GET /_sandbox/stats HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        assert read_response(sock, buffer).status == 200
        sock.sendall(request("ListArtifacts", {}))
        listed = read_response(sock, buffer)
        assert (listed.status, listed.json()) == (200, {"ArtifactSummaries": []})


def test_a_body_beyond_the_limit_is_refused_unread(sandbox: Sandbox) -> None:
    response = exchange(sandbox, head("ListArtifacts", Content_Length=str(10**9)))
    assert response.status == 413


# --- idle and slow clients ------------------------------------------------------------------------


def test_an_idle_connection_is_closed(sandbox: Sandbox) -> None:
    with connect(sandbox) as sock:
        started = time.monotonic()
        assert closed_by_server(sock, within=6)
        assert 1.5 <= time.monotonic() - started < 6


def test_a_request_that_stalls_mid_body_is_dropped(sandbox: Sandbox) -> None:
    with connect(sandbox) as sock:
        sock.sendall(head("ListArtifacts", Content_Length="100") + b"{")
        assert closed_by_server(sock, within=6)
    assert client(sandbox).list_artifacts()["ArtifactSummaries"] == []


def test_a_kept_alive_connection_serves_requests_until_it_idles(sandbox: Sandbox) -> None:
    with connect(sandbox) as sock:
        buffer = bytearray()
        for _ in range(3):
            sock.sendall(request("ListArtifacts", {}))
            assert read_response(sock, buffer).status == 200
            time.sleep(0.5)
        assert closed_by_server(sock, within=6)


def test_the_idle_timeout_has_a_default() -> None:
    assert 10 <= SandboxConfig().idle_timeout <= 600


# --- what is counted ------------------------------------------------------------------------------


def test_counters_count_only_known_operations(sandbox: Sandbox) -> None:
    for name in ("MakeCoffee", "x" * 200, "ListArtifacts"):
        exchange(sandbox, request(name, {}))
    sts = (
        b"POST / HTTP/1.1\r\nHost: sandbox\r\nAuthorization: " + AUTH.encode() + b"\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
    )
    for action in ("GetCallerIdentity", "AssumeRole", "AssumeRoleWithSAML", "Nonsense" * 30):
        body = f"Action={action}&Version=2011-06-15".encode()
        exchange(sandbox, sts + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    assert sandbox.counters() == {
        "ListArtifacts": 1,
        "sts:GetCallerIdentity": 1,
        "sts:AssumeRole": 1,
    }


def test_the_server_answers_after_every_abuse(sandbox: Sandbox) -> None:
    for forged in FORGED_TOKENS:
        exchange(sandbox, request("ListArtifacts", {"NextToken": forged}))
    for body in (b"[]", b"5", b'"x"', b"\xff", b"{" * 10_000, b"[" * 100_000):
        exchange(sandbox, head("ListArtifacts", Content_Length=str(len(body))) + body)
    assert client(sandbox).list_artifacts()["ArtifactSummaries"] == []
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sandbox.url)
