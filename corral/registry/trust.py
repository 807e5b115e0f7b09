"""Which client certificates the TLS listeners let through to the authenticator.

OpenSSL verifies a client certificate during the handshake, before any MQTT or HTTP byte, against the trust
store of the listener's SSL context. Besides the Corral root CA, that store must hold every CA registered in
the registry (bring-your-own-CA, JITR) and every certificate registered without a CA (it is its own anchor:
``VERIFY_X509_PARTIAL_CHAIN``). Anchors are only ever added: a CA or certificate that is later deactivated
or deleted still completes the handshake, and the authenticator refuses it by its registry status.
"""

from __future__ import annotations

import asyncio
import logging
import ssl

from sqlalchemy import and_, select

from corral.registry.context import Change, RegistryContext
from corral.store.schema import ca_certificates, certificates

log = logging.getLogger(__name__)


class TrustAnchors:
    def __init__(self, context: RegistryContext, ssl_contexts: list[ssl.SSLContext]) -> None:
        self.context = context
        self.ssl_contexts = ssl_contexts
        self._known: set[str] = set()
        for ctx in ssl_contexts:
            ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        self._pending: asyncio.Task[None] | None = None
        self._dirty = False
        context.listeners.append(self._changed)

    async def load(self) -> int:
        """Adds every registered CA and CA-less certificate not yet trusted; returns how many were added."""
        context = self.context
        async with context.store.read() as conn:
            cas = (
                await conn.execute(
                    select(ca_certificates.c.certificate_id, ca_certificates.c.certificate_pem).where(
                        ca_certificates.c.account_id == context.account_id
                    )
                )
            ).all()
            own = (
                await conn.execute(
                    select(certificates.c.certificate_id, certificates.c.certificate_pem).where(
                        and_(
                            certificates.c.account_id == context.account_id,
                            certificates.c.ca_certificate_id.is_(None),
                        )
                    )
                )
            ).all()
        added = 0
        for cert_id, pem in [*cas, *own]:
            if cert_id in self._known:
                continue
            self._known.add(cert_id)
            for ctx in self.ssl_contexts:
                try:
                    ctx.load_verify_locations(cadata=pem)
                except ssl.SSLError:
                    log.warning("could not trust registered certificate %s", cert_id)
            added += 1
        return added

    def _changed(self, change: Change) -> None:
        if change.kind not in ("certificate", "ca_certificate"):
            return
        self._dirty = True
        if self._pending is None or self._pending.done():
            self._pending = asyncio.get_running_loop().create_task(self._reload())

    async def _reload(self) -> None:
        while self._dirty:  # a change that arrives during a load is read by the next one
            self._dirty = False
            await self.load()
