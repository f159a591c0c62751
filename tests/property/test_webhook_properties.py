"""Property-based tests of what phones and Twilio send us: SMS replies, delivery statuses, one-tap
link tokens, and form fields. Whatever arrives, the answer is a clear 2xx/4xx, never a crash."""

from __future__ import annotations

import asyncio
import os
import threading
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from dashboard.forms import form_text
from escalation.links import LinkError, sign, verify
from escalation.replies import ReplyAction, normalize, parse_reply
from escalation.service import AlertsService, webhook_token
from mimamori.clock import FakeClock
from tests.conftest import FIXED_NOW
from tests.support.escalation_harness import alerts_config, import_households

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=bool(os.environ.get("CI")),
)
HTTP_SETTINGS = settings(SETTINGS, max_examples=60)
KNOWN_PHONES = ("+819000000011", "+819000000012", "+819000000021")  # contacts in the example

# Text a phone can send: anything but lone surrogates (which no SMS or HTTP form can carry).
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)
words = st.sampled_from(
    ["1", "2", "3", "119", "ok", "ng", "stop", "STOP", "行きます", "無理", "無事", "help"]
)
replies = st.one_of(texts, st.builds(lambda a, w, b: a + w + b, texts.map(lambda t: t[:5]), words, texts))
digits_like = st.sampled_from(["", "30003", "²", "٣٠٠٠٣", "-1", "1e3", "99999999999999999999999"])


@dataclass
class Running:
    url: str
    token: str


@pytest.fixture(scope="module")
def alerts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A real alerts service (outbox backend) on its own event loop in a thread, so that hypothesis
    can drive it with plain HTTP requests."""
    config = alerts_config(tmp_path_factory.mktemp("alerts"), None)
    import_households(config)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    service = AlertsService(config, FakeClock(FIXED_NOW))
    asyncio.run_coroutine_threadsafe(service.start(), loop).result(30)
    try:
        yield Running(service.public_url, webhook_token(config))
    finally:
        asyncio.run_coroutine_threadsafe(service.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _post(url: str, form: dict[str, str], token: str | None) -> int:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if token is not None:
        headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(url, form)
    request = urllib.request.Request(url, urllib.parse.urlencode(form).encode(), headers)
    return _status(request)


def _status(request: urllib.request.Request | str) -> int:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@HTTP_SETTINGS
@given(
    phone=st.one_of(st.sampled_from(KNOWN_PHONES), texts), body=replies, extra=st.dictionaries(texts, texts)
)
def test_any_signed_sms_reply_gets_an_answer(
    alerts: Running, phone: str, body: str, extra: dict[str, str]
) -> None:
    form = {**extra, "From": phone, "Body": body, "MessageSid": "SM" + "0" * 32}
    status = _post(f"{alerts.url}/twilio/sms", form, alerts.token)
    assert status == (200 if phone else 400)


@HTTP_SETTINGS
@given(
    sid=texts,
    state=st.one_of(texts, st.sampled_from(["delivered", "failed", "undelivered"])),
    code=digits_like,
)
def test_any_signed_status_callback_is_taken(alerts: Running, sid: str, state: str, code: str) -> None:
    form = {"MessageSid": sid, "MessageStatus": state, "ErrorCode": code}
    assert _post(f"{alerts.url}/twilio/status", form, alerts.token) == 204


@HTTP_SETTINGS
@given(
    path=st.sampled_from(["/twilio/sms", "/twilio/status"]), form=st.dictionaries(texts, texts, max_size=5)
)
def test_unsigned_or_forged_webhooks_are_refused(alerts: Running, path: str, form: dict[str, str]) -> None:
    assert _post(f"{alerts.url}{path}", form, None) == 403
    assert _post(f"{alerts.url}{path}", form, "not-the-token") == 403


@HTTP_SETTINGS
@given(token=texts.filter(bool))
def test_any_link_token_is_refused_cleanly(alerts: Running, token: str) -> None:
    status = _status(f"{alerts.url}/l/{urllib.parse.quote(token, safe='')}")
    assert status in (404, 410)


# --------------------------------------------------------------------------- pure parsers


@SETTINGS
@given(text=texts)
def test_reply_parsing_is_total_and_normalising_is_idempotent(text: str) -> None:
    assert isinstance(parse_reply(text), ReplyAction)
    assert normalize(normalize(text)) == normalize(text)


@SETTINGS
@given(before=texts, after=texts, padding=st.text(st.sampled_from(" .。!！?？、「」()（）\"'"), max_size=4))
def test_opt_out_only_when_the_whole_message_is_an_opt_out_word(
    before: str, after: str, padding: str
) -> None:
    for word in ("STOP", "配信停止"):
        if parse_reply(f"{before} {word} {after}") is ReplyAction.STOP:
            assert not any(ch.isalnum() for ch in before + after)  # only spaces and punctuation around
        assert parse_reply(f"{padding}{word}{padding}") is ReplyAction.STOP


@SETTINGS
@given(
    word=st.sampled_from(["1", "2", "3", "119", "ok", "ng", "help", "safe"]),
    padding=st.sampled_from(["", " ", "。", "！", "」"]),
)
def test_full_width_and_punctuated_answers_mean_the_same(word: str, padding: str) -> None:
    full_width = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in word)
    assert unicodedata.normalize("NFKC", full_width) == word
    assert parse_reply(full_width + padding) is parse_reply(word) is not ReplyAction.UNKNOWN


@SETTINGS
@given(token=texts)
@example(token="..\x80")  # found by the HTTP property above: non-ASCII made compare_digest raise
def test_link_verification_refuses_anything_unsigned(token: str) -> None:
    with pytest.raises(LinkError):
        verify(b"secret", token, FIXED_NOW)


@SETTINGS
@given(
    link_id=st.integers(1, 2**40),
    hours=st.integers(1, 24 * 14),
    position=st.integers(0, 63),
    char=st.characters(codec="ascii"),
)
def test_signed_links_verify_and_any_change_breaks_them(
    link_id: int, hours: int, position: int, char: str
) -> None:
    expires = FIXED_NOW + timedelta(hours=hours)
    token = sign(b"secret", link_id, expires)
    assert verify(b"secret", token, FIXED_NOW).link_id == link_id
    with pytest.raises(LinkError):
        verify(b"other secret", token, FIXED_NOW)
    tampered = token[: position % len(token)] + char + token[position % len(token) + 1 :]
    if tampered != token:
        with pytest.raises(LinkError):
            verify(b"secret", tampered, FIXED_NOW)


@SETTINGS
@given(
    form=st.dictionaries(
        st.sampled_from(["name", "phone", "note"]), st.one_of(texts, st.integers(), st.none(), st.binary())
    ),
    limit=st.integers(1, 300),
)
def test_form_fields_are_text_trimmed_and_bounded(form: dict[str, object], limit: int) -> None:
    for name in ("name", "phone", "note", "missing"):
        value = form_text(form, name, limit)
        assert isinstance(value, str)
        assert len(value) <= limit
        assert value == value.strip() or len(value) == limit


@HTTP_SETTINGS
@given(
    path=st.sampled_from(["/twilio/sms", "/twilio/status"]),
    body=st.one_of(st.binary(max_size=300), st.sampled_from([b"From=\xff&Body=1", b"--x\r\nbroken"])),
    content_type=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=no-such-charset",
            "multipart/form-data; boundary=x",
            "multipart/form-data",
        ]
    ),
)
@example(path="/twilio/sms", body=b"From=\xff&Body=1", content_type="application/x-www-form-urlencoded")
def test_any_raw_body_is_refused_cleanly(alerts: Running, path: str, body: bytes, content_type: str) -> None:
    """The signature covers the form, so the form is parsed first: a malformed one is a 400."""
    headers = {"Content-Type": content_type, "X-Twilio-Signature": "c2lnbmF0dXJl"}
    status = _status(urllib.request.Request(alerts.url + path, body, headers))
    assert status in (400, 403), status  # malformed, or well-formed but not signed by Twilio
    if body == b"From=\xff&Body=1" and "no-such" not in content_type:
        assert status == 400
