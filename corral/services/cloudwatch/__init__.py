"""Embedded Amazon CloudWatch: metrics (PutMetricData, ListMetrics, GetMetricStatistics) and alarms in the
store (service.py, metrics.py), the API (api.py) and the Prometheus exposition at ``/metrics``
(exposition.py)."""

from corral.services.cloudwatch.service import CloudWatchService

__all__ = ["CloudWatchService"]
