"""What a command loads: `validate` and an offline `plan` never import the service's client, the
executor, or what only other commands need; a `validate` the caches answer for (an unchanged
repository) parses and validates nothing, so it loads neither pydantic nor the YAML parser (issue
12: start-up time). Not timed: the modules in sys.modules of a real process say it, on any
machine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import action_doc, association_doc, context_doc, manifest_doc, write_manifests

#: Loaded only by the commands that need them.
NOT_FOR_OFFLINE = (
    "boto3",
    "botocore",
    "deepdiff",
    "re2",
    "reconciler.aws",
    "reconciler.apply",
    "reconciler.live",
    "reconciler.adoption",
    "reconciler.github",
    "reconciler.sandbox",
    "urllib.request",
)
#: What validate does not need besides: the lockfile's and the plan's modules.
NOT_FOR_VALIDATE = (
    *NOT_FOR_OFFLINE,
    "reconciler.project",
    "reconciler.lockfile",
    "reconciler.journal",
    "reconciler.plan",
    "reconciler.planfile",
    "reconciler.audit",
    "reconciler.render",
)

#: What parsing and validating load: a run the caches answer for needs none of it.
PARSING = (
    "pydantic",
    "pydantic_core",
    "ruamel.yaml",  # (find_spec imports the namespace package `ruamel`: it holds no code)
    "_ruamel_yaml",
    "reconciler.models",
    "reconciler.validation",
    "reconciler.diagnostics",
    "reconciler.placing",
    "reconciler.yamlio",
    "reconciler.configfile",
    "reconciler.schema",
)

CONFIG_WITH_TARGETS = """\
sensitive_properties: secret
targets:
  dev:
    account: "123456789012"
    region: eu-west-1
    lockfile: dev.lock.json
    manifests: [manifests]
    vars: {bucket: acme-dev}
"""

RUN = """
import json, sys
sys.argv = ["reconciler", *json.loads(sys.argv[1])]
from reconciler.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
with open({out!r}, "w") as handle:
    json.dump({{"code": code, "modules": sorted(sys.modules)}}, handle)
"""


def modules_loaded(repo: Path, *args: str) -> set[str]:
    """The modules a whole `reconciler ARGS` process has loaded when it exits (asserting that it
    succeeded or found changes)."""
    out = repo / "modules.json"
    code = RUN.format(out=str(out))
    subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)],
        cwd=repo,
        check=True,
        capture_output=True,
        timeout=120,
    )
    result = json.loads(out.read_text())
    assert result["code"] in (0, 2), result["code"]
    return set(result["modules"])


def loaded_among(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


def test_validate_loads_neither_the_client_nor_the_plan(repo: Path) -> None:
    write_manifests(repo / "manifests", manifest_doc("a"), manifest_doc("b"))
    modules = modules_loaded(repo, "validate")
    assert "reconciler.manifest" in modules  # it did validate
    assert loaded_among(modules, NOT_FOR_VALIDATE) == []


def test_validate_for_github_loads_no_client_either(repo: Path) -> None:
    write_manifests(repo / "manifests", manifest_doc("a"))
    modules = modules_loaded(repo, "validate", "--format", "github")
    assert loaded_among(modules, NOT_FOR_OFFLINE) == []


def test_an_offline_plan_loads_no_client_nor_executor(repo: Path) -> None:
    write_manifests(repo / "manifests", manifest_doc("a"), manifest_doc("b"))
    for output_format in ("text", "markdown", "json"):
        modules = modules_loaded(repo, "plan", "--format", output_format)
        assert "reconciler.plan" in modules  # it did plan
        assert loaded_among(modules, NOT_FOR_OFFLINE) == []


def test_drawing_the_declared_graph_loads_no_client(repo: Path) -> None:
    write_manifests(repo / "manifests", manifest_doc("a"))
    for output_format in ("mermaid", "dot", "json"):
        modules = modules_loaded(repo, "graph", "--format", output_format)
        assert "reconciler.drawing" in modules  # it did draw
        assert loaded_among(modules, NOT_FOR_OFFLINE) == []


def test_the_checks_see_a_module_loaded_by_a_command_that_needs_it(repo: Path) -> None:
    """The checks above could pass by never seeing any module: apply does load the client."""
    write_manifests(repo / "manifests", manifest_doc("a"))
    modules = modules_loaded(repo, "apply", "--help")
    assert loaded_among(modules, ("reconciler.aws", "botocore")) != []


def _declare_the_graph(repo: Path) -> None:
    write_manifests(
        repo / "manifests",
        manifest_doc("data"),
        context_doc("endpoint"),
        action_doc("approval"),
        association_doc("used-by", "data", "approval"),
    )


def test_a_warm_validate_loads_neither_pydantic_nor_the_yaml_parser(repo: Path) -> None:
    _declare_the_graph(repo)
    cold = modules_loaded(repo, "validate")
    warm = modules_loaded(repo, "validate")
    assert {"pydantic", "reconciler.validation", "reconciler.models"} <= cold  # it did parse
    assert "reconciler.manifest" in warm  # it did validate, from the cache
    assert loaded_among(warm, (*NOT_FOR_VALIDATE, *PARSING, "reconciler.targets")) == []


def test_a_changed_file_loads_the_parser_again(repo: Path) -> None:
    _declare_the_graph(repo)
    modules_loaded(repo, "validate")
    write_manifests(repo / "manifests", manifest_doc("other"), filename="other.yaml")
    assert {"pydantic", "reconciler.validation"} <= modules_loaded(repo, "validate")


def test_a_warm_validate_with_targets_in_reconciler_yaml_loads_neither(repo: Path) -> None:
    _declare_the_graph(repo)
    (repo / "reconciler.yaml").write_text(CONFIG_WITH_TARGETS)
    cold = modules_loaded(repo, "validate")
    warm = modules_loaded(repo, "validate")
    assert {"pydantic", "reconciler.configfile"} <= cold  # it did read reconciler.yaml
    assert "reconciler.targets" in warm  # it did resolve the targets, from the cache
    assert loaded_among(warm, (*NOT_FOR_VALIDATE, *PARSING)) == []


def test_without_the_cache_every_run_parses(repo: Path) -> None:
    _declare_the_graph(repo)
    (repo / "reconciler.yaml").write_text(CONFIG_WITH_TARGETS)
    modules_loaded(repo, "validate")
    again = modules_loaded(repo, "validate", "--no-cache")
    assert {"pydantic", "reconciler.configfile", "reconciler.validation"} <= again


def test_a_warning_is_placed_without_loading_pydantic(repo: Path) -> None:
    """An edge to another account's entity is a warning on every run: placing it needs the YAML
    parser (positions), not the models."""
    other = "arn:aws:sagemaker:eu-west-1:222222222222:context/shared"
    write_manifests(repo / "manifests", manifest_doc("data"), association_doc("e", "data", other))
    (repo / "reconciler.yaml").write_text(CONFIG_WITH_TARGETS)
    modules_loaded(repo, "validate")
    warm = modules_loaded(repo, "validate")
    assert {"reconciler.placing", "ruamel.yaml"} <= warm  # it did place the warning
    assert loaded_among(warm, ("pydantic", "reconciler.models", "reconciler.validation")) == []
