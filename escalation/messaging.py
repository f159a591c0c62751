"""Messages of the escalation: what each effect says, on which channel, queued durably and audited.

:class:`Messenger` turns a :class:`~escalation.effects.Send` into a text (an alert with its one-tap
link, or a notice), picks the person's channel (:func:`escalation.channels.choose`) and puts it in the
durable queue; the dispatcher sends it. Everyone who texts people (replies, drills, digests, disaster
checks) queues through it.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from detection.findings import CLIMATE_KINDS
from escalation import texts, voice
from escalation.channels import address, choose
from escalation.codes import reply_code
from escalation.effects import Send
from escalation.engine_settings import EngineSettings
from escalation.family_notices import family_notice, tells_family
from escalation.links import sign
from escalation.models import PLATFORM, Incident, Outcome, SmsPurpose, SnapshotContact
from escalation.repository import EscalationRepository
from registry.models import Contact, ContactChannel, ContactRole, Language, TierKind

log = logging.getLogger(__name__)


class Messenger:
    def __init__(self, repo: EscalationRepository, settings: EngineSettings) -> None:
        self._repo = repo
        self._s = settings

    def send(self, incident: Incident, e: Send, now: datetime) -> None:
        """Queue what a :class:`~escalation.effects.Send` effect says (an alert: on the person's channel)."""
        person = e.contact
        current = self._repo.contact(person.id)
        if current is not None and current.opted_out_at is not None:
            return  # STOP is final until START: never texted
        phone = current.phone if current is not None else person.phone
        lang = current.language if current is not None else person.language
        if e.text == "alert":
            person = replace(person, phone=phone, language=lang)  # as the registry has them now
            channel = ContactChannel.SMS if current is None else choose(current, e.purpose, self._s.channels)
            if channel is None:
                channel = ContactChannel.SMS  # choose() never leaves an alert without one while SMS exists
            body = self.alert_body(incident, e.tier or TierKind.OPERATORS, person, now, channel)
            self.queue(
                e.key, phone, body, e.purpose, incident, person.id, now, urgent=e.urgent, channel=channel
            )
            return
        params = dict(e.params)
        if "how" in params:
            params["how"] = texts.how(Outcome(params["how"]), lang)
        body = texts.text(e.text, lang, name=self.household_name(incident, lang), **params)
        self.queue(e.key, phone, body, e.purpose, incident, person.id, now, urgent=e.urgent)

    def tell_family(self, incident: Incident, now: datetime, *, opened: bool) -> None:
        """The household's family contacts who asked to be told: this incident opened (or closed)."""
        if incident.household == PLATFORM or not tells_family(incident, opened=opened):
            return
        for member in self._repo.family_of(incident.household):
            person = member.contact
            if not member.link.incidents or person.opted_out_at is not None:
                continue
            name = self.household_name(incident, person.language)
            body = family_notice(incident, name, person.language, opened=opened)
            key = f"{incident.id}:family:{'opened' if opened else 'closed'}:{person.id}"
            self.queue(key, person.phone, body, SmsPurpose.FAMILY_NOTICE, incident, person.id, now)

    def queue(
        self,
        key: str,
        to: str,
        body: str,
        purpose: SmsPurpose,
        incident: Incident | None,
        contact: str | None,
        now: datetime,
        *,
        urgent: bool = False,
        channel: ContactChannel | None = None,
        household: str | None = None,
    ) -> None:
        """Queue one message to ``to`` (a phone) or, with ``contact``, on that person's channel
        (:func:`escalation.channels.choose`: notices take their first text channel). ``household``: the
        one a message without an incident is about (for the audit)."""
        if incident is not None:
            household = incident.household
        person = self._repo.contact(contact) if contact else None
        if channel is None:
            channel = ContactChannel.SMS if person is None else choose(person, purpose, self._s.channels)
        if channel is None:
            assert person is not None
            self._skipped(person, purpose, incident, now)
            return
        where = (
            to
            if person is None or channel in (ContactChannel.SMS, ContactChannel.VOICE)
            else address(person, channel)
        )
        if self._repo.enqueue_sms(
            key=key,
            to=where or to,
            body=body,
            purpose=purpose,
            urgent=urgent,
            now=now,
            incident=incident.id if incident else None,
            contact=contact,
            channel=channel,
        ):
            self._repo.audit(
                now,
                "system",
                f"{channel}.queued",
                household=household,
                incident=incident.id if incident else None,
                detail={
                    "to": mask(where or to),
                    "purpose": purpose.value,
                    "contact": contact,
                    "channel": channel.value,
                },
            )

    def _skipped(
        self, person: Contact, purpose: SmsPurpose, incident: Incident | None, now: datetime
    ) -> None:
        """A notice for someone reached only by voice: not sent (they heard the alert's own answer)."""
        self._repo.audit(
            now,
            "system",
            "notify.skipped",
            household=incident.household if incident else None,
            incident=incident.id if incident else None,
            detail={"contact": person.id, "purpose": purpose.value, "reason": "no text channel"},
        )
        log.info("notify.skipped contact=%s purpose=%s reason=no_text_channel", person.id, purpose)

    def audit(
        self, now: datetime, actor: str, event: str, incident: Incident, **detail: str | int | None
    ) -> None:
        self._repo.audit(
            now, actor, event, household=incident.household, incident=incident.id, detail=dict(detail)
        )

    def household_name(self, incident: Incident, lang: Language) -> str:
        if incident.household == PLATFORM:
            return "運用" if lang is Language.JA else "platform"
        h = self._repo.household(incident.household)
        return h.name if h else incident.household

    def _what(self, incident: Incident, lang: Language, *, resident: bool = False) -> str:
        if incident.kind in CLIMATE_KINDS:
            return texts.climate_what(
                incident.kind, incident.explanation_key, incident.explanation_params, lang, resident=resident
            )
        return texts.explain(incident.kind, incident.explanation_key, incident.explanation_params, lang)

    def _link(self, incident: Incident, contact_id: str, now: datetime) -> str:
        expires = now + self._s.link_ttl
        link_id = self._repo.link_id(incident.id, contact_id, expires)
        return f"{self._s.public_url.rstrip('/')}/l/{sign(self._s.link_secret, link_id, expires)}"

    def alert_body(
        self,
        incident: Incident,
        tier: TierKind,
        person: SnapshotContact,
        now: datetime,
        channel: ContactChannel,
    ) -> str:
        if channel is ContactChannel.VOICE and incident.household != PLATFORM:
            h = self._repo.household(incident.household)
            return voice.spoken_alert(
                person.language,
                resident=person.role is ContactRole.RESIDENT,
                name=h.name if h else incident.household,
                what=self._what(incident, person.language, resident=person.role is ContactRole.RESIDENT),
            )
        link = self._link(incident, person.id, now)
        if incident.household == PLATFORM:
            homes = int(incident.explanation_params.get("homes", 0))
            return texts.operators_alert(person.language, homes, link, code=reply_code(incident.id))
        h = self._repo.household(incident.household)
        hint = h.address_hint if h and person.role is not ContactRole.RESIDENT else ""
        return texts.alert(
            lang=person.language,
            tier=tier,
            name=h.name if h else incident.household,
            address_hint=hint,
            what=self._what(incident, person.language, resident=person.role is ContactRole.RESIDENT),
            link=link,
            code=reply_code(incident.id),
        )


def mask(phone: str) -> str:
    """Phone numbers in logs and the audit detail: the last four digits only."""
    return "…" + phone[-4:] if len(phone) > 4 else "…"
