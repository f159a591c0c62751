"""JSON encoding of policies (stored as a JSON column) and of quiet hours, which snapshots reuse."""

from __future__ import annotations

import json
from datetime import time
from typing import Any

from registry.models import NotifyMode, Policy, QuietHours, Tier, TierKind


def encode_quiet(q: QuietHours | None) -> dict[str, str] | None:
    return None if q is None else {"start": q.start.isoformat("minutes"), "end": q.end.isoformat("minutes")}


def decode_quiet(data: Any) -> QuietHours | None:
    if data is None:
        return None
    return QuietHours(time.fromisoformat(data["start"]), time.fromisoformat(data["end"]))


def encode_policy(policy: Policy) -> str:
    return json.dumps(
        {
            "tiers": [
                {
                    "kind": t.kind.value,
                    "contacts": list(t.contacts),
                    "mode": t.mode.value,
                    "wait": t.wait_minutes,
                    **({"pool": True, "pool_size": t.pool_size} if t.pool else {}),
                }
                for t in policy.tiers
            ],
            "technical": list(policy.technical),
            "quiet_hours": encode_quiet(policy.quiet_hours),
            "claim_timeout": policy.claim_timeout_minutes,
            "volunteer_weekly_cap": policy.volunteer_weekly_cap,
        },
        ensure_ascii=False,
    )


def decode_policy(household: str, text: str) -> Policy:
    data = json.loads(text)
    return Policy(
        household=household,
        tiers=tuple(
            Tier(
                TierKind(t["kind"]),
                tuple(t["contacts"]),
                NotifyMode(t["mode"]),
                int(t["wait"]),
                bool(t.get("pool", False)),
                int(t.get("pool_size", 3)),
            )
            for t in data["tiers"]
        ),
        technical=tuple(data["technical"]),
        quiet_hours=decode_quiet(data["quiet_hours"]),
        claim_timeout_minutes=int(data["claim_timeout"]),
        volunteer_weekly_cap=int(data["volunteer_weekly_cap"]),
    )
