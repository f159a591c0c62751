"""JSON encoding of the escalation chain snapshotted onto an incident (a JSON column)."""

from __future__ import annotations

import json

from escalation.models import PolicySnapshot, SnapshotContact, Wave
from registry.codec import decode_quiet, encode_quiet
from registry.models import ContactRole, Language, TierKind


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
            "quiet_hours": encode_quiet(snapshot.quiet_hours),
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
                    SnapshotContact(
                        c["id"], c["name"], c["phone"], ContactRole(c["role"]), Language(c["lang"])
                    )
                    for c in w["contacts"]
                ),
            )
            for w in data["waves"]
        ),
        claim_timeout_minutes=int(data["claim_timeout"]),
        quiet_hours=decode_quiet(data["quiet_hours"]),
        time_zone=str(data["time_zone"]),
        first_wave_delay_minutes=int(data["first_wave_delay"]),
    )
