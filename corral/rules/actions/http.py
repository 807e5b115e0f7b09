"""The http action: the statement's output POSTed to a URL.

AWS (developerguide/https-rule-action.html, API HttpAction): ``url`` (required, templates, at most 2000
characters), ``confirmationUrl`` (required when ``url`` has templates, and a prefix of it), ``headers``
(``key``, ``value`` with templates), ``auth`` (SigV4 to an AWS service), ``enableBatching``/``batchConfig``.
A 2xx answer is success; anything else (another status, a timeout, a refused connection) is a failed action.

Where Corral differs, and why: AWS sends only to HTTPS URLs of a confirmed topic rule destination (it POSTs a
confirmation token to ``confirmationUrl`` and waits for ConfirmTopicRuleDestination). Corral is self-hosted
and its rules are its operator's, so it neither asks for confirmation nor refuses plain ``http://`` (a local
service on the same machine is the common target); it keeps AWS's template/confirmationUrl rule so a rule
written for Corral is accepted by AWS. SigV4 ``auth`` and batching are refused until Corral offers them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from corral.rules.actions.base import (
    ActionContext,
    ActionError,
    ActionServices,
    ActionSpecError,
    require_str,
)
from corral.rules.templates import Template, TemplateCompiler

URL_MAX = 2000


@dataclass(frozen=True, slots=True)
class HttpAction:
    url: Template
    headers: tuple[tuple[str, Template], ...]
    services: ActionServices
    failed_action: str = "HttpAction"

    async def run(self, payload: bytes, ctx: ActionContext) -> None:
        import httpx

        url = await ctx.render(self.url)
        if not url.startswith(("https://", "http://")):
            raise ActionError(f"Invalid URL {url!r}", url)
        headers = {key: await ctx.render(value) for key, value in self.headers}
        if not any(key.lower() == "content-type" for key in headers):
            headers["content-type"] = "application/json" if _is_json(payload) else "application/octet-stream"
        try:
            response = await self.services.http_client().post(url, content=payload, headers=headers)
        except httpx.HTTPError as exc:
            raise ActionError(f"HTTP request failed: {type(exc).__name__}: {exc}", url) from exc
        if not 200 <= response.status_code < 300:
            raise ActionError(f"Received a response with HTTP status code {response.status_code}", url)


def _is_json(payload: bytes) -> bool:
    return payload[:1] in (b"{", b"[", b'"') or payload.strip()[:1].isdigit()


def build(spec: Mapping[str, Any], compile: TemplateCompiler, services: ActionServices) -> HttpAction:
    url = require_str(spec, "url", "http")
    if len(url) > URL_MAX:
        raise ActionSpecError(f"The http action's url is longer than {URL_MAX} characters")
    confirmation = spec.get("confirmationUrl")
    if "${" in url and not confirmation:
        raise ActionSpecError(
            "A confirmationUrl is required when the http action's url has substitution templates"
        )
    if confirmation:
        if "${" in confirmation:
            raise ActionSpecError("Corral does not support substitution templates in confirmationUrl")
        if not url.startswith(confirmation):
            raise ActionSpecError("The confirmationUrl must be a prefix of the http action's url")
    compiled_url = compile(url)
    if compiled_url.is_constant and not url.startswith(("https://", "http://")):
        raise ActionSpecError(f"The http action's url must be an http:// or https:// URL: {url}")
    if spec.get("auth"):
        raise ActionSpecError("Corral does not offer SigV4 auth for the http action yet")
    if spec.get("enableBatching"):
        raise ActionSpecError("Corral does not offer batching for the http action yet")
    headers = tuple((header["key"], compile(header["value"])) for header in spec.get("headers") or ())
    return HttpAction(compiled_url, headers, services)
