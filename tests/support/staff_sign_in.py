"""Signing staff in as a browser does, second factor included: administrators of the test stores are
enrolled with a known TOTP secret, and the helper types the current code."""

from __future__ import annotations

import time
from typing import Any

import pyotp

from tests.support.dashboard_fakes import ADMIN_TOTP_SECRET, PASSWORD, csrf_of


def totp_codes(secret: str = ADMIN_TOTP_SECRET) -> list[str]:
    """The codes an authenticator shows around now: this step first, then the next (a step used by an
    earlier sign-in in the same test is refused), then the previous."""
    here = int(time.time() // 30)
    return [pyotp.TOTP(secret).at(step * 30) for step in (here, here + 1, here - 1)]


async def sign_in(client: Any, username: str, password: str = PASSWORD) -> Any:
    """POST the sign-in form, then the second factor when asked; the last response (303 on success)."""
    token = csrf_of(await (await client.get("/login")).text())
    response = await client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        allow_redirects=False,
    )
    if response.status != 303 or response.headers["Location"] != "/login/code":
        return response
    token = csrf_of(await (await client.get("/login/code")).text())
    for code in totp_codes():
        response = await client.post(
            "/login/code", data={"code": code, "csrf_token": token}, allow_redirects=False
        )
        if response.status == 303:
            break
    return response
