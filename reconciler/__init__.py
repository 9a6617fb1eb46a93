"""GitOps for Amazon SageMaker ML lineage artifacts."""

__version__ = "0.1.0"
