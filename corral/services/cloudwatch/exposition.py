"""``GET /metrics``: CloudWatch metrics and the server's counters in the Prometheus text format
(prometheus-client renders it). The names and labels are documented in docs/metrics.md.

CloudWatch metrics are two families with the CloudWatch names as label values, not one family per
metric: namespaces, metric and dimension names are arbitrary strings (spaces, slashes, case) that would
have to be mangled, and could collide, as Prometheus metric names, while label values carry them verbatim.

- ``corral_cloudwatch_value`` (gauge): the value of each metric's latest datapoint.
- ``corral_cloudwatch_datapoints`` (summary without quantiles): ``_count`` and ``_sum`` of every sample
  put since the metric first appeared (``rate(corral_cloudwatch_datapoints_sum[5m])`` for a rate).

Labels: ``namespace``, ``metric_name``, ``unit`` and one ``dimension_<Name>`` per dimension (the name's
characters outside ``[A-Za-z0-9_]`` become ``_``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from corral.services.cloudwatch.metrics import Series

CONTENT_TYPE = CONTENT_TYPE_LATEST
_INVALID = re.compile(r"[^A-Za-z0-9_]")


def labels_of(series: Series) -> dict[str, str]:
    labels = {"namespace": series.namespace, "metric_name": series.metric_name, "unit": series.unit or "None"}
    for dimension in series.dimensions:
        name = "dimension_" + _INVALID.sub("_", dimension["Name"])
        while name in labels:  # two names that differ only in characters outside the label alphabet
            name += "_"
        labels[name] = dimension["Value"]
    return labels


def families(
    series: Sequence[Series],
    counters: Mapping[str, tuple[str, float]],
    gauges: Mapping[str, tuple[str, float]],
) -> list[Metric]:
    """``counters``/``gauges``: {family name: (help, value)}; a counter's samples get ``_total``."""
    value = Metric("corral_cloudwatch_value", "Latest datapoint of each CloudWatch metric", "gauge")
    points = Metric("corral_cloudwatch_datapoints", "CloudWatch samples put, and their sum", "summary")
    for one in series:
        labels = labels_of(one)
        value.add_sample("corral_cloudwatch_value", labels, one.last_value)
        points.add_sample("corral_cloudwatch_datapoints_count", labels, one.sample_count)
        points.add_sample("corral_cloudwatch_datapoints_sum", labels, one.total)
    result = [value, points]
    for name, (documentation, number) in counters.items():
        counter = Metric(name, documentation, "counter")
        counter.add_sample(f"{name}_total", {}, number)
        result.append(counter)
    for name, (documentation, number) in gauges.items():
        gauge = Metric(name, documentation, "gauge")
        gauge.add_sample(name, {}, number)
        result.append(gauge)
    return result


class _Snapshot:
    def __init__(self, metrics: Iterable[Metric]) -> None:
        self.metrics = list(metrics)

    def collect(self) -> Iterable[Metric]:
        return self.metrics


def render(metrics: Iterable[Metric]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(metrics))
    return generate_latest(registry)
