"""What a LINE alert carries besides its text (pure): postback buttons for the same answers as SMS.

A button's data is the reply an SMS would be, with the alert's reply code (``K7 1``), so the reply
router reads a tap exactly as it reads a text. A contact gets 行ける / 無理 / 無事 / 救急; the resident
her own two, 大丈夫 / 助けて.
"""

from __future__ import annotations

from escalation.codes import reply_code
from escalation.models import SmsMessage, SmsPurpose
from registry.models import Contact, ContactRole, Language

Button = tuple[str, str]  # (label, postback data)

_CONTACT = (
    ("1", "行ける", "I'll go"),
    ("2", "無理", "I can't"),
    ("3", "無事", "Safe"),
    ("119", "救急", "Emergency"),
)
_RESIDENT = (("1", "大丈夫", "I'm fine"), ("119", "助けて", "Help"))
PROMPT = {Language.JA: "どうしますか?", Language.EN: "Your answer?"}


def alert_buttons(message: SmsMessage, contact: Contact | None) -> tuple[Button, ...]:
    """The buttons under an alert (none under notices and answers)."""
    if message.purpose is not SmsPurpose.ALERT or message.incident is None or contact is None:
        return ()
    code = reply_code(message.incident)
    answers = _RESIDENT if contact.role is ContactRole.RESIDENT else _CONTACT
    return tuple((ja if contact.language is Language.JA else en, f"{code} {key}") for key, ja, en in answers)


LINKED = {
    Language.JA: "見守りの連絡をLINEで受け取る設定ができました。{name}さん、ありがとうございます。",
    Language.EN: "Done: Mimamori will reach you on LINE. Thank you, {name}.",
}
UNKNOWN_CODE = "コードが見つからないか期限切れです。担当者にお問い合わせください。 / Unknown or expired code."
WELCOME = (
    "見守りです。担当者から受け取った6桁のコードを送ってください。 / Send the 6-digit code you were given."
)
