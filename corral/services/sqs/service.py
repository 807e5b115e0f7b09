"""SqsService: queues and their messages in the store, with long polling, FIFO order and dead-letter redrive.

Invariants:

- A message is receivable when ``visible_at <= now``. Sending sets it to now + delay; each receive to now +
  visibility timeout; ChangeMessageVisibility to now + the new timeout. "In flight" is ``visible_at > now``
  after at least one receive, "delayed" the same before any.
- Every receive gives the message a new receipt nonce. DeleteMessage with an older handle succeeds without
  deleting (as AWS documents); ChangeMessageVisibility with one is refused.
- Messages are taken in ``sequence`` order (a per-queue counter kept on the queue row). On a FIFO queue a
  message group with a message in flight or delayed is skipped as a whole, so a group is delivered in order
  and one batch at a time.
- A message whose receive count has reached the source queue's ``maxReceiveCount`` moves to the dead-letter
  queue, in the same transaction, instead of being received again.
- Long polls wait on an in-process event per queue, set after each commit that may make a message
  receivable; a poll also wakes when the earliest invisible message's time comes.

The parts, each a mixin over :class:`~corral.services.sqs.rows.SqsBase` (settings, names, rows):
queues.py (queue operations), redrive.py (dead-letter queues), sending.py, receiving.py, receipts.py (delete
and visibility); fifo.py holds the FIFO rules, messages.py and attributes.py the pure checks.

Rule actions and other domains call :meth:`SqsService.send_message` (a queue URL or a bare queue name).
"""

from __future__ import annotations

from corral.services.sqs.queues import QueuesMixin
from corral.services.sqs.receipts import ReceiptsMixin
from corral.services.sqs.receiving import ReceivingMixin
from corral.services.sqs.rows import Queue
from corral.services.sqs.sending import SendingMixin, SendResult

__all__ = ["Queue", "SendResult", "SqsService"]


class SqsService(QueuesMixin, SendingMixin, ReceivingMixin, ReceiptsMixin):
    """The one object the API, the rules engine and SNS call; its constructor is
    ``SqsService(store, account_id, region, base_url, clock=system_clock)``."""
