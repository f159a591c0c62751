"""Voice alerts (pure): the spoken message, the keypad menus and the TwiML of a call.

The spoken alert says the same explanation as the SMS. A contact's keys are 1 行ける, 2 無理, 3 無事,
9 救急; the resident has her own menu, 1 大丈夫, 9 助けて, so the same key never means opposite things
to the two. A keypress becomes the reply the SMS grammar already knows (``escalation.replies``).
"""

from __future__ import annotations

from twilio.twiml.voice_response import Gather, VoiceResponse

from registry.models import Language

CONTACT_KEYS = {"1": "1", "2": "2", "3": "3", "9": "119"}
RESIDENT_KEYS = {"1": "1", "9": "119"}
"""Keypress -> the reply it stands for (``escalation.replies.parse``)."""

VOICES = {Language.JA: ("ja-JP", "Polly.Mizuki"), Language.EN: ("en-US", "Polly.Joanna")}
"""(language, voice) of ``<Say>``: Amazon Polly voices Twilio offers; Mizuki speaks Japanese."""

GATHER_TIMEOUT_S = 8
TIMES = 2  # the message is said twice before the call ends without a key


def spoken_alert(lang: Language, *, resident: bool, name: str, what: str) -> str:
    """What the call says (then waits for a key)."""
    if lang is Language.JA:
        if resident:
            return (
                f"見守りサービスです。{name}さん、お変わりありませんか。{what}。"
                "大丈夫なら1を、助けが必要なら9を押してください。"
            )
        return (
            f"見守りサービスからのお知らせです。{name}さんについて。{what}。"
            "様子を見に行ける方は1、行けない方は2、無事を確認済みなら3、救急が必要なら9を押してください。"
        )
    if resident:
        return f"This is Mimamori. {name}, are you all right? {what}. Press 1 if you are fine, 9 for help."
    return (
        f"This is Mimamori, about {name}. {what}. "
        "Press 1 if you can go, 2 if you cannot, 3 if they are safe, 9 for an emergency."
    )


_SPOKEN = {
    "again": ("その番号は使えません。", "That key is not used."),
    "bye": ("お電話ありがとうございました。", "Thank you. Goodbye."),
    "claimed": ("ありがとうございます。向かってください。", "Thank you. Please go."),
    "already claimed": ("既に別の方が向かっています。", "Someone else is already going."),
    "declined": ("了解しました。次の方に連絡します。", "Understood. We will contact the next person."),
    "resolved": ("ありがとうございました。終了にしました。", "Thank you. Marked as closed."),
    "help": (
        "専門職に連絡しました。命に関わる場合は119番へ。",
        "Professionals alerted. If life is at risk, call 119.",
    ),
    "closed": ("この件は既に終了しています。", "This is already closed."),
}


def spoken(key: str, lang: Language) -> str:
    """A short spoken answer to a keypress (``bye`` for anything without its own words)."""
    ja, en = _SPOKEN.get(key, _SPOKEN["bye"])
    return ja if lang is Language.JA else en


def _say(target: VoiceResponse | Gather, text: str, lang: Language) -> None:
    language, voice = VOICES[lang]
    target.say(text, language=language, voice=voice)


def call_twiml(text: str, lang: Language, gather_url: str, *, prefix: str = "") -> str:
    """The call: ``prefix`` (a correction), the message and its menu, waiting for one key; said twice."""
    response = VoiceResponse()
    for n in range(TIMES):
        gather = Gather(num_digits=1, action=gather_url, method="POST", timeout=GATHER_TIMEOUT_S)
        if prefix and n == 0:
            _say(gather, prefix, lang)
        _say(gather, text, lang)
        response.append(gather)
    _say(response, spoken("bye", lang), lang)
    response.hangup()
    return str(response.to_xml())


def answer_twiml(text: str, lang: Language) -> str:
    """The answer to a keypress, then the call ends."""
    response = VoiceResponse()
    _say(response, text, lang)
    response.hangup()
    return str(response.to_xml())


def hangup_twiml() -> str:
    """An answering machine: nothing is said (the next person is called instead)."""
    response = VoiceResponse()
    response.hangup()
    return str(response.to_xml())
