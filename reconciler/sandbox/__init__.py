"""A local endpoint that speaks the SageMaker lineage API (and STS GetCallerIdentity), so that
unmodified boto3 can be pointed at it with `endpoint_url` or AWS_ENDPOINT_URL.

    from reconciler.sandbox import Sandbox, SandboxConfig

Imported lazily: the server loads botocore's service model, which other commands do not need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.sandbox.server import Sandbox, SandboxConfig

__all__ = ["Sandbox", "SandboxConfig"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from reconciler.sandbox import server

        return getattr(server, name)
    raise AttributeError(name)
