"""The client layer's own logic: pacing after throttling, and the API-to-spec mapping."""

from __future__ import annotations

from reconciler.aws import Pacer, create_request, live_spec
from reconciler.limits import OWNERSHIP_TAG_KEY


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_pacer_does_nothing_until_the_first_throttle() -> None:
    pacer = Pacer(Clock())
    for _ in range(50):
        pacer.succeeded()
    assert pacer.rate is None


def test_a_throttle_sets_the_rate_just_under_what_got_through() -> None:
    clock = Clock()
    pacer = Pacer(clock)
    for i in range(40):
        clock.now = 100.0 + i / 40
        pacer.succeeded()
    pacer.throttled()
    assert pacer.rate == 40 * Pacer.DECREASE


def test_a_burst_of_throttles_lowers_the_rate_once_and_successes_raise_it_again() -> None:
    clock = Clock()
    pacer = Pacer(clock)
    pacer.throttled()
    first = pacer.rate
    assert first is not None
    for _ in range(8):
        pacer.throttled()
    assert pacer.rate == first
    clock.now += Pacer.CALM
    pacer.throttled()
    assert pacer.rate == max(Pacer.MINIMUM, first * Pacer.DECREASE)
    lowered = pacer.rate
    for _ in range(10):
        pacer.succeeded()
    assert pacer.rate is not None and pacer.rate > lowered


def test_create_request_adds_the_ownership_tag_and_drops_empty_maps() -> None:
    spec = {"ArtifactName": "a", "ArtifactType": "DataSet", "Source": {"SourceUri": "s3://a"}}
    request = create_request(spec, "a", "lineage-1")
    assert request == {
        "ArtifactName": "a",
        "Source": {"SourceUri": "s3://a"},
        "ArtifactType": "DataSet",
        "Tags": [
            {"Key": OWNERSHIP_TAG_KEY, "Value": "a"},
            {"Key": "reconciler:lineage", "Value": "lineage-1"},
        ],
    }


def test_live_spec_is_canonical_and_leaves_the_ownership_tag_out() -> None:
    described = {
        "ArtifactName": "a",
        "ArtifactType": "DataSet",
        "Source": {
            "SourceUri": "s3://a",
            "SourceTypes": [
                {"SourceIdType": "S3Version", "Value": "2"},
                {"SourceIdType": "MD5Hash", "Value": "1"},
            ],
        },
        "Properties": {},
        "MetadataProperties": {"CommitId": "c"},
    }
    assert live_spec(described, {OWNERSHIP_TAG_KEY: "a", "team": "x"}) == {
        "ArtifactName": "a",
        "ArtifactType": "DataSet",
        "Source": {
            "SourceUri": "s3://a",
            "SourceTypes": [
                {"SourceIdType": "MD5Hash", "Value": "1"},
                {"SourceIdType": "S3Version", "Value": "2"},
            ],
        },
        "MetadataProperties": {"CommitId": "c"},
        "Tags": [{"Key": "team", "Value": "x"}],
    }
