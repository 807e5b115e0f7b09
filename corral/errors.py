"""The root of every error a domain answers an AWS API caller with.

Each domain subclasses it once (``RegistryError``, ``DataPlaneError`` …) and names its AWS codes there; the
API layer serializes ``code``, ``status``, ``message`` and ``extra`` as they are, whatever the domain.
"""

from __future__ import annotations

from typing import ClassVar


class AWSServiceError(Exception):
    """The caller asked for something the service refuses; ``message`` is what AWS would say."""

    code: ClassVar[str] = "InternalFailureException"
    status: ClassVar[int] = 500

    def __init__(self, message: str, **extra: str) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra  # additional members of the error body (e.g. resourceId, resourceArn)
