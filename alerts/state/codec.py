"""JSON encoding of policies and snapshots (stored as JSON columns) and of times (ISO 8601, UTC)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from typing import Any

from alerts.state.models import (
    Language,
    NotifyMode,
    Policy,
    PolicySnapshot,
    QuietHours,
    Role,
    SnapshotContact,
    Tier,
    TierKind,
    Wave,
)


def to_db_time(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def from_db_time(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def opt_time(value: str | None) -> datetime | None:
    return None if value is None else from_db_time(value)


def _quiet(q: QuietHours | None) -> dict[str, str] | None:
    return None if q is None else {"start": q.start.isoformat("minutes"), "end": q.end.isoformat("minutes")}


def _unquiet(data: Any) -> QuietHours | None:
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
                }
                for t in policy.tiers
            ],
            "technical": list(policy.technical),
            "quiet_hours": _quiet(policy.quiet_hours),
            "claim_timeout": policy.claim_timeout_minutes,
            "volunteer_weekly_cap": policy.volunteer_weekly_cap,
            "resolve_on_activity": policy.resolve_on_activity,
        },
        ensure_ascii=False,
    )


def decode_policy(household: str, text: str) -> Policy:
    data = json.loads(text)
    return Policy(
        household=household,
        tiers=tuple(
            Tier(TierKind(t["kind"]), tuple(t["contacts"]), NotifyMode(t["mode"]), int(t["wait"]))
            for t in data["tiers"]
        ),
        technical=tuple(data["technical"]),
        quiet_hours=_unquiet(data["quiet_hours"]),
        claim_timeout_minutes=int(data["claim_timeout"]),
        volunteer_weekly_cap=int(data["volunteer_weekly_cap"]),
        resolve_on_activity=bool(data["resolve_on_activity"]),
    )


def encode_snapshot(snapshot: PolicySnapshot) -> str:
    return json.dumps(
        {
            "waves": [
                {
                    "tier_index": w.tier_index,
                    "tier": w.tier.value,
                    "wait": w.wait_minutes,
                    "contacts": [
                        {
                            "id": c.id,
                            "name": c.name,
                            "phone": c.phone,
                            "role": c.role.value,
                            "lang": c.language.value,
                        }
                        for c in w.contacts
                    ],
                }
                for w in snapshot.waves
            ],
            "claim_timeout": snapshot.claim_timeout_minutes,
            "resolve_on_activity": snapshot.resolve_on_activity,
            "quiet_hours": _quiet(snapshot.quiet_hours),
            "time_zone": snapshot.time_zone,
            "first_wave_delay": snapshot.first_wave_delay_minutes,
        },
        ensure_ascii=False,
    )


def decode_snapshot(text: str) -> PolicySnapshot:
    data = json.loads(text)
    return PolicySnapshot(
        waves=tuple(
            Wave(
                tier_index=int(w["tier_index"]),
                tier=TierKind(w["tier"]),
                wait_minutes=int(w["wait"]),
                contacts=tuple(
                    SnapshotContact(c["id"], c["name"], c["phone"], Role(c["role"]), Language(c["lang"]))
                    for c in w["contacts"]
                ),
            )
            for w in data["waves"]
        ),
        claim_timeout_minutes=int(data["claim_timeout"]),
        resolve_on_activity=bool(data["resolve_on_activity"]),
        quiet_hours=_unquiet(data["quiet_hours"]),
        time_zone=str(data["time_zone"]),
        first_wave_delay_minutes=int(data["first_wave_delay"]),
    )
