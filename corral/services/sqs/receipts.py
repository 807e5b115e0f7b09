"""Receipt handles: DeleteMessage and ChangeMessageVisibility.

A handle is base64 of ``account, queue, message id, receipt nonce``; every receive gives the message a new
nonce. DeleteMessage with an older handle succeeds without deleting (as AWS documents);
ChangeMessageVisibility with one is refused.
"""

from __future__ import annotations

import base64
import binascii

from sqlalchemy import delete, select, update

from corral.services.sqs.errors import MessageNotInflight, ReceiptHandleIsInvalid, invalid_value
from corral.services.sqs.rows import SqsBase
from corral.store.schema import sqs_messages


class ReceiptsMixin(SqsBase):
    def _parse_handle(self, name: str, handle: str) -> tuple[str, str]:
        try:
            account, queue, message_id, receipt = (
                base64.urlsafe_b64decode(handle.encode()).decode().split("\n")
            )
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise ReceiptHandleIsInvalid(
                f'The input receipt handle "{handle}" is not a valid receipt handle.'
            ) from None
        if account != self.account_id or queue != name:
            raise ReceiptHandleIsInvalid(
                f'The input receipt handle "{handle}" is not a valid receipt handle.'
            )
        return message_id, receipt

    async def delete_message(self, queue: str, receipt_handle: str) -> None:
        name = self.queue_name(queue)
        message_id, receipt = self._parse_handle(name, receipt_handle)
        async with self.store.begin() as conn:
            await self._queue(conn, name)
            await conn.execute(
                delete(sqs_messages).where(
                    self._message_key(name, message_id), sqs_messages.c.receipt == receipt
                )
            )

    async def change_message_visibility(self, queue: str, receipt_handle: str, seconds: int) -> None:
        name = self.queue_name(queue)
        message_id, receipt = self._parse_handle(name, receipt_handle)
        if not 0 <= seconds <= 43200:
            raise invalid_value("VisibilityTimeout", seconds, "Must be >= 0 and <= 43200.")
        now = self.clock()
        async with self.store.begin() as conn:
            await self._queue(conn, name)
            row = (
                await conn.execute(
                    select(sqs_messages.c.receipt, sqs_messages.c.visible_at).where(
                        self._message_key(name, message_id)
                    )
                )
            ).first()
            if row is None or row.receipt != receipt:
                raise invalid_value(
                    "ReceiptHandle",
                    receipt_handle,
                    "Message does not exist or is not available for visibility timeout change.",
                )
            if row.visible_at <= now:
                raise MessageNotInflight()
            await conn.execute(
                update(sqs_messages)
                .where(self._message_key(name, message_id))
                .values(visible_at=now + seconds)
            )
        if seconds == 0:
            self._wakeup.notify(name)
