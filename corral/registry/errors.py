"""The registry's errors, each carrying the AWS IoT error code and HTTP status it answers with.

This is the one place where registry failures meet AWS's codes: the API serializes ``code``, ``status`` and
``message`` as they are. Messages follow AWS's wording where it is known (docs/control-plane-facts.md).
"""

from __future__ import annotations

from corral.errors import AWSServiceError


class RegistryError(AWSServiceError):
    """The caller asked for something the registry refuses; ``message`` is what AWS would say."""


class InvalidRequest(RegistryError):
    code = "InvalidRequestException"
    status = 400


class ResourceNotFound(RegistryError):
    code = "ResourceNotFoundException"
    status = 404


class ResourceAlreadyExists(RegistryError):
    code = "ResourceAlreadyExistsException"
    status = 409


class VersionConflict(RegistryError):
    code = "VersionConflictException"
    status = 409


class ConflictingResourceUpdate(RegistryError):
    code = "ConflictingResourceUpdateException"
    status = 409


class DeleteConflict(RegistryError):
    code = "DeleteConflictException"
    status = 409


class CertificateState(RegistryError):
    code = "CertificateStateException"
    status = 406


class CertificateValidation(RegistryError):
    code = "CertificateValidationException"
    status = 400


class RegistrationCodeValidation(RegistryError):
    code = "RegistrationCodeValidationException"
    status = 400


class CertificateConflict(RegistryError):
    code = "CertificateConflictException"
    status = 409


class MalformedPolicy(RegistryError):
    code = "MalformedPolicyException"
    status = 400


class VersionsLimitExceeded(RegistryError):
    code = "VersionsLimitExceededException"
    status = 409


class LimitExceeded(RegistryError):
    code = "LimitExceededException"
    status = 410


class TransferConflict(RegistryError):
    code = "TransferConflictException"
    status = 409


class TransferAlreadyCompleted(RegistryError):
    code = "TransferAlreadyCompletedException"
    status = 410


class InvalidState(RegistryError):
    code = "InvalidStateTransitionException"
    status = 409


class Unauthorized(RegistryError):
    code = "UnauthorizedException"
    status = 401
