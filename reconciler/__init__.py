"""GitOps for Amazon SageMaker ML lineage."""

__version__ = "0.1.0"
