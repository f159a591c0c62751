"""The native local device format: topic ``{prefix}/{device}/{kind}``, payload ``{"value": v, "ts": iso}``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from mimamori import contract


@dataclass(frozen=True, slots=True)
class Reading:
    """One reading from one local device, before it becomes a canonical event."""

    device: str
    kind: contract.Kind
    value: float
    observed_at: datetime


def encode_reading(reading: Reading) -> tuple[str, bytes]:
    """Topic suffix and payload a native device publishes for ``reading``."""
    payload = {"value": reading.value, "ts": contract.format_time(reading.observed_at)}
    return f"{reading.device}/{reading.kind.value}", json.dumps(payload).encode()


def decode_reading(topic_suffix: str, payload: bytes, now: datetime) -> Reading:
    """Parse a native message; a missing ``ts`` means "now". Raises ContractError."""
    parts = topic_suffix.split("/")
    if len(parts) != 2:
        raise contract.ContractError(contract.Reason.BAD_TOPIC, f"expected device/kind, got {topic_suffix!r}")
    device, kind_raw = parts
    if not contract.ID_RE.match(device):
        raise contract.ContractError(contract.Reason.BAD_ID, f"device {device[:80]!r}")
    try:
        kind = contract.Kind(kind_raw)
    except ValueError:
        raise contract.ContractError(contract.Reason.BAD_KIND, f"unknown kind {kind_raw[:40]!r}") from None
    try:
        obj = json.loads(payload)
    except ValueError as exc:
        raise contract.ContractError(contract.Reason.MALFORMED_JSON, str(exc)[:120]) from None
    if not isinstance(obj, dict):
        raise contract.ContractError(contract.Reason.NOT_OBJECT, "payload must be a JSON object")
    value = obj.get("value")
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise contract.ContractError(contract.Reason.WRONG_TYPE, "value must be a number")
    ts = obj.get("ts")
    try:
        observed_at = contract.parse_time(ts) if isinstance(ts, str) else now
    except ValueError as exc:
        raise contract.ContractError(contract.Reason.BAD_TIMESTAMP, str(exc)) from None
    return Reading(device, kind, float(value), observed_at)
