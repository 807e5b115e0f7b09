"""Embedded Amazon SQS: standard and FIFO queues in the store (service.py), the API (api.py)."""

from corral.services.sqs.service import SendResult, SqsService

__all__ = ["SendResult", "SqsService"]
