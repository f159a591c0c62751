"""Channels: which one a message takes (a table), the households file's channel lists, and state files
from before channels gaining their columns."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from escalation.channels import choose
from escalation.drills import answers_in_writing
from escalation.mail.notifier import subject
from escalation.models import SmsPurpose
from escalation.repository import EscalationRepository
from escalation.voice import call_twiml, spoken_alert
from registry.households_import import import_data
from registry.models import Contact, ContactChannel, ContactRole, Language
from tests.conftest import FIXED_NOW

SMS, VOICE, LINE, EMAIL = ContactChannel.SMS, ContactChannel.VOICE, ContactChannel.LINE, ContactChannel.EMAIL
ALERT, REPLY = SmsPurpose.ALERT, SmsPurpose.REPLY
ALL = (SMS, VOICE, LINE, EMAIL)


def person(
    channels: tuple[ContactChannel, ...], *, email: str | None = "a@example.jp", line: str | None = "U1"
) -> Contact:
    return Contact(
        "c", "鈴木", "+819000000011", ContactRole.NEIGHBOUR, channels=channels, email=email, line_user=line
    )


CASES = [
    # (channels, purpose, configured, tried, line user, expected, why)
    ((SMS,), ALERT, ALL, (), "U1", SMS, "the default"),
    ((VOICE, SMS), ALERT, ALL, (), "U1", VOICE, "the first of the list"),
    ((VOICE, SMS), ALERT, ALL, (VOICE,), "U1", SMS, "voice failed: the next"),
    ((VOICE, SMS), ALERT, ALL, (VOICE, SMS), "U1", None, "none left: the next person"),
    ((VOICE, SMS), REPLY, ALL, (), "U1", SMS, "a notice takes the first text channel"),
    ((VOICE,), REPLY, ALL, (), "U1", None, "a landline gets no text"),
    ((VOICE,), ALERT, (SMS,), (), "U1", SMS, "voice not configured: the phone by SMS, not nobody"),
    ((LINE, SMS), ALERT, ALL, (), None, SMS, "LINE not linked yet: skipped"),
    ((LINE,), ALERT, ALL, (LINE,), "U1", None, "LINE failed, nothing else listed"),
    ((EMAIL, SMS), REPLY, ALL, (), "U1", EMAIL, "e-mail carries notices"),
]


@pytest.mark.parametrize(("channels", "purpose", "configured", "tried", "line", "expected", "why"), CASES)
def test_choose(
    channels: tuple[ContactChannel, ...],
    purpose: SmsPurpose,
    configured: tuple[ContactChannel, ...],
    tried: tuple[ContactChannel, ...],
    line: str | None,
    expected: ContactChannel | None,
    why: str,
) -> None:
    assert choose(person(channels, line=line), purpose, configured, tried) is expected, why


def contact(cid: str, role: str, **extra: object) -> dict[str, object]:
    return {"id": cid, "name": cid, "phone": "+819000000011", "role": role, **extra}


def test_the_households_file_validates_channel_lists(tmp_path: Path) -> None:
    repo = EscalationRepository(tmp_path / "s.sqlite3")
    repo.open()
    data = {
        "contacts": [
            contact("voice-resident", "resident", channels=["voice"]),
            contact("line-then-sms", "volunteer", channels=["line", "sms"]),
            contact("family", "technical", channels=["email"], email="k@example.jp"),
            contact("mail-only-neighbour", "neighbour", channels=["email"], email="n@example.jp"),
            contact("mail-without-address", "technical", channels=["email"]),
            contact("twice", "neighbour", channels=["sms", "sms"]),
            contact("pager", "neighbour", channels=["pager"]),
            contact("empty", "neighbour", channels=[]),
            contact("bad-address", "technical", channels=["sms"], email="not-an-address"),
        ]
    }
    report = import_data(repo, data, FIXED_NOW)
    assert report.contacts == 3
    rejected = " | ".join(report.rejected)
    for cid, why in [
        ("mail-only-neighbour", "e-mail alone cannot reach a neighbour"),
        ("mail-without-address", "needs an email address"),
        ("twice", "at most once"),
        ("pager", "channels"),
        ("empty", "channels"),
        ("bad-address", "not an e-mail address"),
    ]:
        assert any(cid in r and why in r for r in report.rejected), (cid, rejected)
    voice = repo.contact("voice-resident")
    assert voice is not None
    assert voice.channels == (VOICE,)
    line = repo.contact("line-then-sms")
    assert line is not None
    assert line.channels == (LINE, SMS)
    family = repo.contact("family")
    assert family is not None
    assert family.email == "k@example.jp"
    repo.close()


def test_a_state_file_from_before_channels_gains_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE contacts (id TEXT PRIMARY KEY, name TEXT NOT NULL, phone TEXT NOT NULL,"
        " role TEXT NOT NULL, language TEXT NOT NULL DEFAULT 'ja', opted_out_at TEXT, weekly_cap INTEGER);"
        "INSERT INTO contacts VALUES ('c1', '鈴木', '+819000000011', 'neighbour', 'ja', NULL, NULL);"
        "CREATE TABLE sms_messages (id INTEGER PRIMARY KEY, idempotency_key TEXT NOT NULL UNIQUE,"
        " to_number TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL, purpose TEXT NOT NULL,"
        " urgent INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, incident TEXT,"
        " contact TEXT, provider_sid TEXT, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT,"
        " error_code INTEGER, error TEXT NOT NULL DEFAULT '');"
        "INSERT INTO sms_messages (idempotency_key, to_number, body, status, purpose, urgent, created_at,"
        " updated_at) VALUES ('k', '+819000000011', 'old', 'sent', 'alert', 1, '2026-11-01T00:00:00Z',"
        " '2026-11-01T00:00:00Z');"
    )
    old.commit()
    old.close()
    repo = EscalationRepository(path)
    repo.open()
    c1 = repo.contact("c1")
    assert c1 is not None
    assert (c1.channels, c1.email, c1.line_user) == ((SMS,), None, None)
    (message,) = repo.sms_messages()
    assert message.channel is SMS
    repo.upsert_contact(Contact("c1", "鈴木", "+819000000011", ContactRole.NEIGHBOUR, channels=(VOICE, SMS)))
    repo.enqueue_sms(
        key="v", to="+819000000011", body="call", purpose=ALERT, urgent=True, now=FIXED_NOW, channel=VOICE
    )
    assert [m.channel for m in repo.sms_messages()] == [SMS, VOICE]
    assert repo.contact("c1").channels == (VOICE, SMS)  # type: ignore[union-attr]
    repo.close()


def test_the_spoken_alert_and_its_twiml() -> None:
    text = spoken_alert(Language.JA, resident=False, name="山田花子", what="07:10以降 動きなし")
    xml = call_twiml(text, Language.JA, "https://m.example.jp/twilio/voice/gather?m=7")
    assert xml.count("<Gather") == 2  # said twice before giving up
    assert 'action="https://m.example.jp/twilio/voice/gather?m=7"' in xml
    assert 'numDigits="1"' in xml
    assert 'language="ja-JP"' in xml
    english = spoken_alert(Language.EN, resident=True, name="Emma", what="no activity since 07:10")
    assert "Press 1 if you are fine, 9 for help" in english
    assert 'language="en-US"' in call_twiml(english, Language.EN, "https://x/g?m=1")


def test_the_mail_subject_is_the_first_sentence() -> None:
    assert (
        subject("【見守り K7】山田花子さん: 動きなし。普段は08:00まで")
        == "【見守り K7】山田花子さん: 動きなし。"
    )
    assert len(subject("x" * 200)) == 60


@pytest.mark.parametrize(
    ("channels", "line_user", "blocked", "drilled"),
    [
        ((ContactChannel.SMS,), None, False, True),
        ((ContactChannel.VOICE,), None, False, False),  # a landline: no written answer can come back
        ((ContactChannel.EMAIL,), None, False, False),
        ((ContactChannel.VOICE, ContactChannel.LINE), "U1", False, True),
        ((ContactChannel.LINE,), "U1", True, False),  # blocked the account
        ((ContactChannel.LINE,), None, False, False),  # not linked yet
    ],
)
def test_the_chain_drill_goes_to_those_who_can_answer_in_writing(
    channels: tuple[ContactChannel, ...], line_user: str | None, blocked: bool, drilled: bool
) -> None:
    contact = Contact("c1", "Kato", "+819011112222", ContactRole.NEIGHBOUR, channels=channels,
                      line_user=line_user, line_blocked=blocked)  # fmt: skip
    assert answers_in_writing(contact) is drilled
