"""DynamoDB's errors, with the codes and statuses AWS answers (every one 400, as a coral JSON service)."""

from __future__ import annotations

from typing import ClassVar

from corral.errors import AWSServiceError


class DynamoDbError(AWSServiceError):
    status: ClassVar[int] = 400


class ValidationException(DynamoDbError):
    code: ClassVar[str] = "ValidationException"


class ResourceNotFoundException(DynamoDbError):
    code: ClassVar[str] = "ResourceNotFoundException"


class ResourceInUseException(DynamoDbError):
    code: ClassVar[str] = "ResourceInUseException"


class ConditionalCheckFailedException(DynamoDbError):
    code: ClassVar[str] = "ConditionalCheckFailedException"

    def __init__(self, message: str = "The conditional request failed") -> None:
        super().__init__(message)


def invalid_parameter(detail: str) -> ValidationException:
    return ValidationException(f"One or more parameter values were invalid: {detail}")


def table_not_found(name: str | None = None) -> ResourceNotFoundException:
    if name is None:
        return ResourceNotFoundException("Requested resource not found")
    return ResourceNotFoundException(f"Requested resource not found: Table: {name} not found")
