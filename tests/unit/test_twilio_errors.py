"""How the Twilio adapters turn the library's exceptions into the ports' errors (one table for both)."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException

from escalation.notifier import NotifyError
from escalation.sms.port import SmsError
from escalation.sms.twilio_sender import twilio_errors
from escalation.sms.twilio_session import TwilioSession


@pytest.mark.parametrize(("error", "ambiguous"), [(SmsError, True), (NotifyError, False)])
def test_a_timeout_is_retryable_and_as_ambiguous_as_the_request(
    error: type[NotifyError], ambiguous: bool
) -> None:
    with pytest.raises(error) as caught, twilio_errors(error, ambiguous=ambiguous):
        raise TimeoutError
    assert type(caught.value) is error
    assert str(caught.value) == "twilio unreachable: TimeoutError"
    assert (caught.value.retryable, caught.value.ambiguous) == (True, ambiguous)


def test_a_rest_error_is_classified_by_its_code() -> None:
    with pytest.raises(SmsError) as caught, twilio_errors(NotifyError, ambiguous=True):
        raise TwilioRestException(400, "https://api.twilio.com", code=21211)
    assert (caught.value.code, caught.value.retryable, caught.value.ambiguous) == (21211, False, False)


def test_an_adapter_not_started_says_so_and_may_be_retried() -> None:
    session = TwilioSession("AC0", "token", base_url="http://127.0.0.1:9", timeout_s=1.0)
    with pytest.raises(NotifyError, match="twilio voice is not started") as caught:
        session.api(NotifyError, "voice")
    assert caught.value.retryable
