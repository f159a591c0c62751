"""Learning from outcomes and the household's sensitivity (pure).

When staff close an incident as a false alarm, the threshold that raised it (the time slot's quiet
threshold in that 3-hour band of the day, a bathroom or toilet stay, the outing limit) is loosened for
that household: by ``Tuning.learn_step`` per false alarm, fading linearly to nothing over
``Tuning.learn_decay_s``, at most ``Tuning.learn_max`` in all. A real emergency (hospital, emergency
handled) is never a reason to loosen: the false alarms before it in the same band stop counting, and it
tightens the band a little (``learn_tighten_step``, fading the same way, never below ``learn_min``).
The care manager's sensitivity divides every such threshold. Both are read from the household's
:class:`~detection.model.Profile`, so the live detector and replay apply them identically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from detection.baseline import Baseline, zone
from detection.findings import FindingKind
from detection.model import Profile, Tuning
from registry.models import Feedback, Sensitivity

BAND_MIN: Final = 180  # the quiet threshold is adjusted per 3-hour band of the local day
ALL_DAY: Final = -1  # the band of rules learned over the whole day (stays, outings)

SENSITIVITY_FACTORS: Final = {Sensitivity.LOW: 0.85, Sensitivity.STANDARD: 1.0, Sensitivity.HIGH: 1.2}
"""What the care manager's 低/標準/高 mean: the household's thresholds are divided by the factor (the
simulator's curve: 0.85 gives a third of the false alarms for a 6 min later median, 1.2 seven times as
many for a 0.6 h shorter P90; docs/detection.md)."""


class Rule(StrEnum):
    """The thresholds outcomes adjust."""

    QUIET = "quiet"  # the time slot's quiet threshold (inactivity), per band of the day
    BATHROOM = "bathroom"  # the longest stay seen in the bathroom + margin
    TOILET = "toilet"
    OUTING = "outing"  # the long-absence limit


RULES: Final = frozenset(r.value for r in Rule)


def rule_of(kind: str, explanation_key: str) -> Rule | None:
    """The rule that raised a finding of ``kind`` explained by ``explanation_key`` (None: a finding no
    outcome adjusts: a missed wake-up or an evening quiet is judged against the resident's own
    latest wake-up or start of sleep, which the next relearn takes in anyway; buttons, technical)."""
    if kind == FindingKind.INACTIVITY:
        room = explanation_key.rpartition(".")[2]
        return Rule(room) if room in (Rule.BATHROOM, Rule.TOILET) else Rule.QUIET
    if kind == FindingKind.LONG_ABSENCE:
        return Rule.OUTING
    return None


def band_of(rule: Rule, minute_of_day: int) -> int:
    """The band a rule is adjusted in: the 3-hour band of the day for the quiet threshold, else all day."""
    return minute_of_day // BAND_MIN if rule is Rule.QUIET else ALL_DAY


def feedback_of(
    household: str,
    incident: str,
    kind: str,
    explanation_key: str,
    started_at: datetime | None,
    tz: str,
    *,
    emergency: bool,
    closed_at: datetime,
) -> Feedback | None:
    """What detection keeps of an incident closed as a false alarm or a real emergency (None: nothing
    to learn: a finding no outcome adjusts, or no quiet stretch)."""
    rule = rule_of(kind, explanation_key)
    if rule is None or started_at is None:
        return None
    local = started_at.astimezone(zone(tz))
    band = band_of(rule, local.hour * 60 + local.minute)
    return Feedback(household, incident, closed_at, emergency, rule.value, band)


def factor(feedback: Sequence[Feedback], rule: Rule, band: int, now: float, tuning: Tuning) -> float:
    """How much a threshold of ``rule`` in ``band`` is stretched at ``now`` (1.0: as learned).

    Only outcomes closed by ``now`` count (replay stays causal), each fading linearly over
    ``tuning.learn_decay_s``; false alarms closed before the newest emergency of the same rule and
    band do not count at all.
    """
    loosen = tighten = 0.0
    emergency_at = -1.0
    for f in feedback:
        if f.rule == rule and f.band == band and f.emergency and f.closed_at.timestamp() <= now:
            emergency_at = max(emergency_at, f.closed_at.timestamp())
    for f in feedback:
        if f.rule != rule or f.band != band:
            continue
        at = f.closed_at.timestamp()
        weight = 1.0 - (now - at) / tuning.learn_decay_s
        if at > now or weight <= 0:
            continue
        if f.emergency:
            tighten += tuning.learn_tighten_step * weight
        elif at > emergency_at:
            loosen += tuning.learn_step * weight
    return min(tuning.learn_max, max(tuning.learn_min, 1.0 + loosen - tighten))


def scale(profile: Profile, rule: Rule, band: int, at: float, tuning: Tuning) -> float:
    """What a household's threshold of ``rule`` in ``band`` is multiplied by for a stretch that began at
    ``at``: the outcomes' factor over the care manager's sensitivity."""
    if not profile.feedback:
        return 1.0 / profile.sensitivity
    return factor(profile.feedback, rule, band, at, tuning) / profile.sensitivity


def stretched(rule: Rule, limit_s: float, stretch: float, baseline: Baseline, tuning: Tuning) -> float:
    """A threshold of ``rule`` (seconds) times ``stretch``, within the bounds it is learned within: 90 min
    to 16 h for the time slot's, the 30-min floor for stays, the longest outing seen + margin for
    outings (a long absence is one beyond anything seen, at any sensitivity)."""
    if stretch == 1.0:
        return limit_s
    if rule is Rule.QUIET:
        return min(tuning.max_threshold_s, max(tuning.min_threshold_s, limit_s * stretch))
    if rule is Rule.OUTING:
        return max(limit_s * stretch, baseline.longest_outing_s + tuning.outing_margin_s)
    return max(tuning.stay_floor_s, limit_s * stretch)


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One adjusted threshold of a household, for the household page."""

    rule: Rule
    band: int  # 0-7 (3-hour band of the local day), or ALL_DAY
    factor: float
    false_alarms: int  # counting now
    emergencies: int
    latest_at: datetime  # the newest outcome counting
    fades_at: datetime  # when the newest outcome stops counting


def adjustments(feedback: Sequence[Feedback], now: datetime, tuning: Tuning) -> list[Adjustment]:
    """Every threshold the household's outcomes adjust at ``now``, by rule and band."""
    t = now.timestamp()
    keys = sorted({(f.rule, f.band) for f in feedback if f.rule in RULES})
    found: list[Adjustment] = []
    for rule_name, band in keys:
        rule = Rule(rule_name)
        value = factor(feedback, rule, band, t, tuning)
        counting = [
            f
            for f in feedback
            if f.rule == rule and f.band == band and 0 <= t - f.closed_at.timestamp() < tuning.learn_decay_s
        ]
        if not counting or value == 1.0:
            continue
        latest = max(f.closed_at for f in counting)
        found.append(
            Adjustment(
                rule,
                band,
                round(value, 2),
                sum(1 for f in counting if not f.emergency),
                sum(1 for f in counting if f.emergency),
                latest,
                datetime.fromtimestamp(latest.timestamp() + tuning.learn_decay_s, now.tzinfo),
            )
        )
    return found
