"""The service's error answers."""

from __future__ import annotations


class ServiceError(Exception):
    """An error answer: its code becomes `__type`, botocore's error code."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def validation_error(message: str) -> ServiceError:
    return ServiceError("ValidationException", message)


def not_found(message: str) -> ServiceError:
    return ServiceError("ResourceNotFound", message)


def access_denied(message: str) -> ServiceError:
    return ServiceError("AccessDeniedException", message)
