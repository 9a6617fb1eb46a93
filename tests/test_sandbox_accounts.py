"""One sandbox, several accounts: STS AssumeRole and per-key accounts, through unmodified boto3."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from reconciler.sandbox import Sandbox, SandboxConfig
from reconciler.sandbox.accounts import access_key_for

REGION = "eu-west-1"
FIRST, SECOND, THIRD = "111111111111", "222222222222", "333333333333"
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(account=FIRST, more_accounts=(SECOND,))) as running:
        yield running


def session(sandbox: Sandbox, key: str = "AKIDSANDBOX", token: str | None = None) -> Any:
    return boto3.Session(
        aws_access_key_id=key,
        aws_secret_access_key="secret",
        aws_session_token=token,
        region_name=REGION,
    )


def client(sandbox: Sandbox, service: str, key: str = "AKIDSANDBOX", region: str = REGION) -> Any:
    return session(sandbox, key).client(
        service, endpoint_url=sandbox.url, region_name=region, config=NO_RETRIES
    )


def assumed(sandbox: Sandbox, role_arn: str) -> Any:
    """A boto3 session holding the credentials STS AssumeRole gave for `role_arn`."""
    sts = client(sandbox, "sts")
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="reconciler")["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )


def create(sm: Any, uri: str) -> str:
    arn: str = sm.create_artifact(Source={"SourceUri": uri}, ArtifactType="DataSet")["ArtifactArn"]
    return arn


def uris(sm: Any) -> list[str]:
    return [a["Source"]["SourceUri"] for a in sm.list_artifacts()["ArtifactSummaries"]]


def test_assume_role_gives_credentials_of_the_roles_account(sandbox: Sandbox) -> None:
    role = f"arn:aws:iam::{SECOND}:role/ci/reconciler-apply"
    second = assumed(sandbox, role)
    identity = second.client("sts", endpoint_url=sandbox.url).get_caller_identity()
    assert identity["Account"] == SECOND
    assert identity["Arn"] == f"arn:aws:sts::{SECOND}:assumed-role/reconciler-apply/reconciler"
    assert identity["UserId"].endswith(":reconciler")
    arn = create(second.client("sagemaker", endpoint_url=sandbox.url), "s3://b/one.csv")
    assert arn.startswith(f"arn:aws:sagemaker:{REGION}:{SECOND}:artifact/")


def test_every_request_is_answered_in_the_account_of_its_key(sandbox: Sandbox) -> None:
    first = client(sandbox, "sagemaker")
    second = client(sandbox, "sagemaker", access_key_for(SECOND))
    first_arn = create(first, "s3://b/shared.csv")
    second_arn = create(second, "s3://b/shared.csv")  # the same source in another account
    assert f":{FIRST}:" in first_arn and f":{SECOND}:" in second_arn
    create(second, "s3://b/second-only.csv")
    assert uris(first) == ["s3://b/shared.csv"]
    assert sorted(uris(second)) == ["s3://b/second-only.csv", "s3://b/shared.csv"]
    with pytest.raises(ClientError) as info:  # the second shares no lineage with the first
        first.describe_artifact(ArtifactArn=second_arn)
    assert info.value.response["Error"]["Code"] == "AccessDeniedException"
    described = second.describe_artifact(ArtifactArn=second_arn)
    assert described["CreatedBy"]["IamIdentity"]["Arn"] == f"arn:aws:iam::{SECOND}:user/sandbox"


def test_regions_are_kept_apart_within_an_account(sandbox: Sandbox) -> None:
    key = access_key_for(SECOND)
    create(client(sandbox, "sagemaker", key), "s3://b/ireland.csv")
    assert uris(client(sandbox, "sagemaker", key, region="us-east-1")) == []


def test_get_caller_identity_answers_the_keys_account(sandbox: Sandbox) -> None:
    assert client(sandbox, "sts").get_caller_identity()["Account"] == FIRST
    identity = client(sandbox, "sts", access_key_for(SECOND)).get_caller_identity()
    assert identity["Account"] == SECOND
    assert identity["Arn"] == f"arn:aws:iam::{SECOND}:user/sandbox"


def test_a_key_naming_an_account_not_served_is_refused(sandbox: Sandbox) -> None:
    key = access_key_for(THIRD)
    with pytest.raises(ClientError) as sts_error:
        client(sandbox, "sts", key).get_caller_identity()
    assert sts_error.value.response["Error"]["Code"] == "InvalidClientTokenId"
    with pytest.raises(ClientError) as sm_error:
        client(sandbox, "sagemaker", key).list_artifacts()
    assert sm_error.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert sm_error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert THIRD in sm_error.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("role_arn", "session_name", "code"),
    [
        (f"arn:aws:iam::{THIRD}:role/reconciler-apply", "reconciler", "AccessDenied"),
        ("arn:aws:iam::2222:role/short-account", "reconciler", "ValidationError"),
        (f"arn:aws:iam::{SECOND}:user/not-a-role", "reconciler", "ValidationError"),
        (f"arn:aws:iam::{SECOND}:role/reconciler-apply", "has space", "ValidationError"),
    ],
)
def test_assume_role_refuses_what_sts_refuses(
    sandbox: Sandbox, role_arn: str, session_name: str, code: str
) -> None:
    with pytest.raises(ClientError) as info:
        client(sandbox, "sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)
    assert info.value.response["Error"]["Code"] == code


def test_assume_role_duration_is_bounded(sandbox: Sandbox) -> None:
    sts = client(sandbox, "sts")
    role = f"arn:aws:iam::{SECOND}:role/r"
    with pytest.raises(ClientError) as info:
        sts.assume_role(RoleArn=role, RoleSessionName="s1", DurationSeconds=43_201)
    assert info.value.response["Error"]["Code"] == "ValidationError"
    before = datetime.now(UTC).replace(microsecond=0)
    credentials = sts.assume_role(RoleArn=role, RoleSessionName="s1", DurationSeconds=900)
    expires = credentials["Credentials"]["Expiration"]
    assert timedelta(seconds=900) <= expires - before <= timedelta(seconds=910)


def test_counters_count_sts_calls(sandbox: Sandbox) -> None:
    assumed(sandbox, f"arn:aws:iam::{SECOND}:role/r").client(
        "sts", endpoint_url=sandbox.url
    ).get_caller_identity()
    assert sandbox.counters() == {"sts:AssumeRole": 1, "sts:GetCallerIdentity": 1}


def test_each_accounts_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    config = SandboxConfig(account=FIRST, more_accounts=(SECOND,), state=state)
    with Sandbox(config) as running:
        create(client(running, "sagemaker"), "s3://b/first.csv")
        create(client(running, "sagemaker", access_key_for(SECOND)), "s3://b/second.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"state.{SECOND}.json",
        "state.json",
    ]
    with Sandbox(config) as again:
        assert uris(client(again, "sagemaker")) == ["s3://b/first.csv"]
        assert uris(client(again, "sagemaker", access_key_for(SECOND))) == ["s3://b/second.csv"]


def test_the_command_serves_every_account_given(tmp_path: Path) -> None:
    url_file = tmp_path / "url"
    command = [sys.executable, "-m", "reconciler", "sandbox", "--url-file", str(url_file)]
    process = subprocess.Popen(
        [*command, "--account", FIRST, "--account", SECOND],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        for account in (FIRST, SECOND):
            sts = boto3.client(
                "sts",
                endpoint_url=url,
                region_name=REGION,
                aws_access_key_id=access_key_for(account),
                aws_secret_access_key="secret",
                config=NO_RETRIES,
            )
            assert sts.get_caller_identity()["Account"] == account
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_the_command_refuses_an_account_id_of_another_shape() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "sandbox", "--account", FIRST, "--account", "22"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr == "error: --account '22' is not a 12-digit AWS account id\n"
