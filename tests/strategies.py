"""Hypothesis strategies for valid manifests."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from reconciler.models import Manifest, canonical_spec

names = st.from_regex(r"\A[a-zA-Z0-9](-?[a-zA-Z0-9]){0,15}\Z")
text = st.text(
    alphabet=st.characters(
        blacklist_categories=["Cs"], blacklist_characters="\n\r\x85\u2028\u2029"
    ),
    max_size=20,
)
tag_text = st.text(alphabet=st.sampled_from("abcXYZ019 _.:/=+-@éü"), max_size=12)


@st.composite
def manifests(draw: st.DrawFn, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "ArtifactType": draw(st.sampled_from(["DataSet", "Model", "Image", "Report"])),
        "Source": {"SourceUri": f"s3://bucket/{name}/{draw(text)}"},
    }
    if draw(st.booleans()):
        spec["ArtifactName"] = draw(names)
    if draw(st.booleans()):
        spec["Source"]["SourceTypes"] = draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "SourceIdType": st.sampled_from(
                            ["MD5Hash", "S3ETag", "S3Version", "Custom"]
                        ),
                        "Value": text,
                    }
                ),
                max_size=3,
            )
        )
    if draw(st.booleans()):
        spec["Properties"] = draw(st.dictionaries(text, text, max_size=5))
    if draw(st.booleans()):
        spec["MetadataProperties"] = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "CommitId": text,
                    "Repository": text,
                    "GeneratedBy": text,
                    "ProjectId": text,
                },
            )
        )
    if draw(st.booleans()):
        keys = draw(
            st.lists(
                tag_text.filter(lambda k: k and not k.lower().startswith("aws:")),
                unique=True,
                max_size=5,
            )
        )
        spec["Tags"] = [{"Key": k, "Value": draw(tag_text)} for k in keys]
    return {
        "apiVersion": "reconciler/v1",
        "kind": "Artifact",
        "metadata": {"name": name},
        "spec": spec,
    }


@st.composite
def desired_states(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    """name → canonical spec, with unique names, ArtifactNames and SourceUris."""
    chosen = draw(st.lists(names, unique_by=str.lower, max_size=8))
    out: dict[str, dict[str, Any]] = {}
    seen_names: set[str] = set()
    for name in chosen:
        spec = canonical_spec(Manifest.model_validate(draw(manifests(name))))
        if spec["ArtifactName"] in seen_names:
            continue
        seen_names.add(spec["ArtifactName"])
        out[name] = spec
    return out
