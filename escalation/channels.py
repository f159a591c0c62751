"""Which channel a message to a person takes (pure): their ordered list, what is configured, what failed.

An alert takes the person's first channel that is configured and has an address (a LINE user not yet
linked, or blocked, is skipped); when it fails, or is not delivered by its channel's deadline, the next one
(:meth:`escalation.delivery.Delivery.fall_back`). Notices and answers take the first *text*
channel (a landline cannot read them). A person none of whose channels can be used is still alerted by
SMS to their phone: a missed alert is worse than a refused one, which moves on to the next person.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta

from escalation.models import SmsPurpose
from registry.models import TEXT_CHANNELS, Contact, ContactChannel

DELIVERY_DEADLINE: dict[ContactChannel, timedelta] = {
    ContactChannel.SMS: timedelta(
        minutes=10
    ),  # Twilio's delivery receipt ("delivered") normally takes seconds
    ContactChannel.VOICE: timedelta(
        minutes=5
    ),  # ring 30 s, the message twice, the keypress; then the final status
}
"""An alert the provider took but did not report delivered by then falls back to the person's next
channel (only channels whose provider reports delivery; LINE and e-mail have no receipts)."""

ALERTS = (SmsPurpose.ALERT,)


def address(contact: Contact, channel: ContactChannel) -> str | None:
    """Where ``contact`` is reached on ``channel`` (None: not on this channel)."""
    if channel in (ContactChannel.SMS, ContactChannel.VOICE):
        return contact.phone
    if channel is ContactChannel.LINE:
        return None if contact.line_blocked else contact.line_user
    return contact.email


def choose(
    contact: Contact,
    purpose: SmsPurpose,
    configured: Collection[ContactChannel],
    tried: Collection[ContactChannel] = (),
) -> ContactChannel | None:
    """The channel for the next message of ``purpose`` to ``contact``; None: none left (or, for a
    notice, none that carries text)."""
    for channel in contact.channels:
        if channel in tried or channel not in configured or address(contact, channel) is None:
            continue
        if purpose not in ALERTS and channel not in TEXT_CHANNELS:
            continue
        return channel
    if purpose in ALERTS and not tried and ContactChannel.SMS in configured:
        return ContactChannel.SMS  # nothing of the list works here: the phone, rather than nobody
    return None
