"""``mimamori broker-config``: Mosquitto credentials and ACL for the registered households.

Households come from the registry (``[alerts] state_path``, filled by ``mimamori households
import``) or from the same YAML/TOML file given with ``--households``.

Each household gets its own broker user (its household id) that may publish only under
``mimamori/v1/{household}/#`` and read nothing; the ingest user may read every household's topics;
anonymous clients are refused. Passwords are hashed by Mosquitto's own ``mosquitto_passwd``, never
here. Generated files, in the output directory:

- ``mosquitto.conf``: listeners (plain, and TLS when a certificate is given), authentication, ACL.
- ``passwd``: ``user:hash`` lines. A household keeps its hash across runs unless rotated.
- ``acl``: one block per user.
- ``gateways/{household}.env``: the new credentials a gateway is provisioned with (mode 0600),
  written only when a household is new or rotated; removed with the household.

Raises :class:`BrokerConfigError` for a bad households file, a clash of names, or a failing tool.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mimamori.commands import Subcommands, add_config_argument, config_from
from mimamori.config import SECRET_ENV
from mimamori.contract import ID_RE, MAX_MESSAGE_BYTES, TOPIC_ROOT, TOPIC_VERSION

DEFAULT_INGEST_USER = "ingest"
PASSWORD_ENV = SECRET_ENV["broker_password"]


class BrokerConfigError(Exception):
    """The broker configuration cannot be generated; the message says why."""


@dataclass(frozen=True, slots=True)
class TlsListener:
    """A TLS listener; paths are as the broker sees them."""

    certfile: Path
    keyfile: Path
    cafile: Path | None = None
    port: int = 8883


@dataclass(frozen=True, slots=True)
class BrokerLayout:
    """Where the broker finds the generated files and keeps its data (its own view of the paths)."""

    config_dir: Path
    persistence_dir: Path = Path("/mosquitto/data")
    plain_port: int = 1883
    tls: TlsListener | None = None


@dataclass(frozen=True, slots=True)
class Generated:
    """What one run produced."""

    households: tuple[str, ...]
    new_credentials: Mapping[str, str] = field(default_factory=dict)
    removed: tuple[str, ...] = ()


def household_topics(household: str) -> str:
    return f"{TOPIC_ROOT}/{TOPIC_VERSION}/{household}/#"


def read_households_file(path: Path) -> list[str]:
    """Household ids from a TOML or YAML file: ``[[households]] id = ...`` or ``households: [...]``.

    Entries may be tables with an ``id`` (other keys are the registry's business) or bare ids.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BrokerConfigError(f"cannot read households file {path}: {exc.strerror}") from None
    try:
        data: Any = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise BrokerConfigError(f"{path}: not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}") from None
    entries = data.get("households") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise BrokerConfigError(f"{path}: expected a list under 'households'")
    ids: list[str] = []
    for n, entry in enumerate(entries, 1):
        raw = entry.get("id") if isinstance(entry, dict) else entry
        if not isinstance(raw, str):
            raise BrokerConfigError(f"{path}: household #{n} has no string 'id'")
        ids.append(raw)
    return check_households(ids)


def registered_households(state_path: Path) -> list[str]:
    """Household ids from the household registry (``mimamori households import``)."""
    from registry.repository import Registry

    if not state_path.exists():
        raise BrokerConfigError(
            f"no household registry at {state_path}: run 'mimamori households import FILE' first, "
            "or pass --households FILE"
        )
    repo = Registry(state_path)
    repo.open()
    try:
        return check_households(h.id for h in repo.households())
    finally:
        repo.close()


def check_households(ids: Iterable[str], reserved: Iterable[str] = (DEFAULT_INGEST_USER,)) -> list[str]:
    """Validate ids (contract syntax, unique, not a service user's name); return them sorted."""
    seen: set[str] = set()
    taken = set(reserved)
    for household in ids:
        if not ID_RE.match(household):
            raise BrokerConfigError(f"household id {household[:80]!r} must match {ID_RE.pattern}")
        if household in taken:
            raise BrokerConfigError(f"household id {household!r} is the name of a service user")
        if household in seen:
            raise BrokerConfigError(f"household id {household!r} appears twice")
        seen.add(household)
    return sorted(seen)


def render_acl(households: Sequence[str], ingest_user: str) -> str:
    """The ACL: ingest reads everything under the topic root and writes the end-to-end
    acknowledgements; each household writes only its own topics and reads only its own acks."""
    lines = [
        "# Generated by 'mimamori broker-config'. Anything not granted here is denied.",
        "",
        f"user {ingest_user}",
        f"topic read {TOPIC_ROOT}/{TOPIC_VERSION}/#",
        f"topic write {TOPIC_ROOT}/{TOPIC_VERSION}/+/+/ack",
    ]
    for household in households:
        lines += [
            "",
            f"user {household}",
            f"topic write {household_topics(household)}",
            f"topic read {TOPIC_ROOT}/{TOPIC_VERSION}/{household}/+/ack",
        ]
    return "\n".join(lines) + "\n"


def render_mosquitto_conf(layout: BrokerLayout) -> str:
    """A complete mosquitto.conf for a deployment (paths as the broker sees them)."""
    lines = [
        "# Generated by 'mimamori broker-config'.",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {layout.config_dir / 'passwd'}",
        f"acl_file {layout.config_dir / 'acl'}",
        "persistence true",
        f"persistence_location {layout.persistence_dir}/",
        "autosave_interval 60",
        "persistent_client_expiration 7d",
        "max_queued_messages 100000",
        f"message_size_limit {MAX_MESSAGE_BYTES}",
        "log_dest stdout",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "",
        f"listener {layout.plain_port}",
    ]
    if layout.tls is not None:
        tls = layout.tls
        lines += ["", f"listener {tls.port}", f"certfile {tls.certfile}", f"keyfile {tls.keyfile}"]
        if tls.cafile is not None:
            lines.append(f"cafile {tls.cafile}")
        lines.append("tls_version tlsv1.2")
    return "\n".join(lines) + "\n"


def security_config(config_dir: Path) -> str:
    """The authentication lines alone, for a broker whose listeners are configured elsewhere."""
    return f"password_file {config_dir / 'passwd'}\nacl_file {config_dir / 'acl'}\n"


def mosquitto_passwd_path() -> str:
    path = shutil.which("mosquitto_passwd")
    if path is None:
        raise BrokerConfigError("mosquitto_passwd is missing: install the Debian package 'mosquitto'")
    return path


def hash_passwords(plain: Mapping[str, str]) -> dict[str, str]:
    """``user -> password`` to ``user -> hash`` with ``mosquitto_passwd -U`` (one process for all)."""
    if not plain:
        return {}
    with tempfile.TemporaryDirectory(prefix="mimamori-passwd-") as tmp:
        work = Path(tmp) / "passwd"
        work.touch(mode=0o600)
        work.write_text("".join(f"{user}:{password}\n" for user, password in plain.items()))
        done = subprocess.run(
            [mosquitto_passwd_path(), "-U", str(work)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise BrokerConfigError(f"mosquitto_passwd failed: {(done.stderr or done.stdout).strip()}")
        return read_passwd(work)


def read_passwd(path: Path) -> dict[str, str]:
    """``user -> hash`` from a Mosquitto password file (empty when it does not exist)."""
    if not path.exists():
        return {}
    entries: dict[str, str] = {}
    for line in path.read_text().splitlines():
        user, sep, hashed = line.partition(":")
        if sep and user:
            entries[user] = hashed
    return entries


def generate(
    out_dir: Path,
    households: Sequence[str],
    ingest_password: str,
    layout: BrokerLayout | None = None,
    ingest_user: str = DEFAULT_INGEST_USER,
    rotate: Iterable[str] = (),
) -> Generated:
    """Write mosquitto.conf, passwd, acl and new gateways' credentials into ``out_dir``."""
    if not ingest_password:
        raise BrokerConfigError(f"the ingest user's password is empty: set {PASSWORD_ENV}")
    households = check_households(households, reserved=(ingest_user,))
    rotate = set(rotate)
    unknown = rotate - set(households)
    if unknown:
        raise BrokerConfigError(f"cannot rotate unknown households: {', '.join(sorted(unknown))}")
    out_dir.mkdir(parents=True, exist_ok=True)
    gateways_dir = out_dir / "gateways"
    gateways_dir.mkdir(mode=0o700, exist_ok=True)
    passwd_path = out_dir / "passwd"
    existing = read_passwd(passwd_path)
    new = {h: secrets.token_urlsafe(24) for h in households if h not in existing or h in rotate}
    hashed = hash_passwords({ingest_user: ingest_password, **new})
    entries = {ingest_user: hashed[ingest_user]}
    for household in households:
        entries[household] = hashed[household] if household in new else existing[household]
    removed = tuple(sorted(set(existing) - set(entries)))

    _write_private(passwd_path, "".join(f"{user}:{value}\n" for user, value in entries.items()))
    _write_private(out_dir / "acl", render_acl(households, ingest_user))
    (out_dir / "mosquitto.conf").write_text(render_mosquitto_conf(layout or BrokerLayout(out_dir.resolve())))
    for household, password in new.items():
        _write_private(
            gateways_dir / f"{household}.env",
            f"MIMAMORI__GATEWAY__HOUSEHOLD={household}\n"
            f"MIMAMORI__BROKER__USERNAME={household}\n"
            f"{PASSWORD_ENV}={password}\n",
        )
    for household in removed:
        (gateways_dir / f"{household}.env").unlink(missing_ok=True)
    return Generated(tuple(households), new, removed)


def revoke(out_dir: Path, household: str) -> bool:
    """Remove ``household``'s broker account from the generated files in ``out_dir``: its password
    line, its ACL block and its gateway credentials file. Returns whether it had one. Takes effect
    when the broker reloads them (:func:`reload_broker`); until then ingest already refuses the
    household (it is no longer in the registry)."""
    _check_one(household)
    passwd_path = out_dir / "passwd"
    entries = read_passwd(passwd_path)
    if household not in entries:
        return False
    del entries[household]
    _write_private(passwd_path, "".join(f"{user}:{value}\n" for user, value in entries.items()))
    acl_path = out_dir / "acl"
    if acl_path.exists():
        blocks = acl_path.read_text().rstrip("\n").split("\n\n")
        kept = [block for block in blocks if block.splitlines()[:1] != [f"user {household}"]]
        _write_private(acl_path, "\n\n".join(kept) + "\n")
    (out_dir / "gateways" / f"{household}.env").unlink(missing_ok=True)
    return True


def reload_broker(pid: int) -> None:
    """Make mosquitto re-read its password and ACL files (SIGHUP); raises BrokerConfigError."""
    try:
        os.kill(pid, signal.SIGHUP)
    except OSError as exc:
        raise BrokerConfigError(f"cannot signal the broker (pid {pid}): {exc.strerror}") from None


def _check_one(household: str) -> None:
    if not ID_RE.match(household):
        raise BrokerConfigError(f"household id {household[:80]!r} must match {ID_RE.pattern}")


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically with a file only its owner can read."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- command


def register(sub: Subcommands) -> None:
    parser = sub.add_parser(
        "broker-config", help="generate Mosquitto passwords and ACL for the registered households"
    )
    add_config_argument(parser)
    parser.add_argument(
        "--households",
        type=Path,
        help="households file (the YAML/TOML 'mimamori households import' reads); "
        "default: the registered households ([alerts] state_path)",
    )
    parser.add_argument("--out", type=Path, default=Path("var/broker"), help="output directory")
    parser.add_argument(
        "--broker-dir",
        type=Path,
        default=None,
        help="the output directory as the broker sees it (e.g. /mosquitto/config in a container)",
    )
    parser.add_argument("--persistence-dir", type=Path, default=Path("/mosquitto/data"))
    parser.add_argument("--ingest-user", default=DEFAULT_INGEST_USER)
    parser.add_argument("--port", type=int, default=1883, help="plain listener port")
    parser.add_argument("--tls-cert", type=Path, help="certificate file (as the broker sees it): adds TLS")
    parser.add_argument("--tls-key", type=Path, help="private key file (as the broker sees it)")
    parser.add_argument("--tls-ca", type=Path, help="CA file, to also require client certificates' chain")
    parser.add_argument("--tls-port", type=int, default=8883)
    parser.add_argument("--rotate", action="append", default=[], metavar="HOUSEHOLD", help="new password")
    parser.set_defaults(func=run_broker_config)


def run_broker_config(args: argparse.Namespace) -> int:
    try:
        if (args.tls_cert is None) != (args.tls_key is None):
            raise BrokerConfigError("--tls-cert and --tls-key go together")
        tls = (
            TlsListener(args.tls_cert, args.tls_key, args.tls_ca, args.tls_port)
            if args.tls_cert is not None
            else None
        )
        layout = BrokerLayout(args.broker_dir or args.out.resolve(), args.persistence_dir, args.port, tls)
        result = generate(
            args.out,
            read_households_file(args.households)
            if args.households is not None
            else registered_households(config_from(args).alerts.state_path),
            os.environ.get(PASSWORD_ENV, ""),
            layout,
            args.ingest_user,
            args.rotate,
        )
    except BrokerConfigError as exc:
        raise SystemExit(f"mimamori broker-config: {exc}") from None
    print(
        f"broker config: {len(result.households)} households, {len(result.new_credentials)} new credentials "
        f"(in {args.out / 'gateways'}), {len(result.removed)} removed; files in {args.out}"
    )
    return 0
