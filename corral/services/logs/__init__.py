"""Embedded Amazon CloudWatch Logs: log groups, streams and events in the store (service.py), the API
(api.py)."""

from corral.services.logs.service import LogsService

__all__ = ["LogsService"]
