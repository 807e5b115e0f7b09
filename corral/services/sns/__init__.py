"""Embedded Amazon SNS: topics and subscriptions in the store (service.py), deliveries to e-mail, HTTP(S),
SMS, Lambda and SQS in background tasks (delivery.py), signed documents (envelope.py), the API (api.py)."""

from corral.services.sns.service import SnsService

__all__ = ["SnsService"]
