"""``mimamori dashboard``: run the care managers' web UI; ``user add|list|password`` and
``assign|unassign`` manage accounts (their organisation and role) and which households each care
manager sees. Organisation administrators can do the same in the web UI (``/admin/users``)."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from aiohttp import web

from dashboard.app import create_app
from dashboard.care_records import StateCareRecords
from dashboard.disaster_desk import DisasterDesk
from dashboard.states import PersistedStates
from dashboard.users import StaffRole, User, UserError, UserStore
from escalation.commands import StaffCommands, operators
from escalation.records import points_rule
from escalation.repository import EscalationRepository
from mimamori.clock import SystemClock
from mimamori.commands import Subcommands, add_config_argument, config_from
from mimamori.config import Config
from registry.models import DEFAULT_ORGANISATION
from store.readers import open_reader

log = logging.getLogger(__name__)


def register(sub: Subcommands) -> None:
    parser = sub.add_parser("dashboard", help="run the care managers' web dashboard, or manage its users")
    add_config_argument(parser)
    parser.add_argument("--host", default=None, help="address to serve on (setting dashboard.host)")
    parser.add_argument("--port", type=int, default=None, help="port to serve on (setting dashboard.port)")
    parser.set_defaults(func=_serve)
    actions = parser.add_subparsers(dest="dashboard_command", metavar="ACTION")

    user = actions.add_parser("user", help="dashboard accounts (care managers and administrators)")
    user_actions = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add = user_actions.add_parser("add", help="create an account (password from stdin or a prompt)")
    add.add_argument("username")
    add.add_argument("--role", choices=[r.value for r in StaffRole], default=StaffRole.CARE_MANAGER.value)
    add.add_argument("--name", default="", help="display name (defaults to the user name)")
    add.add_argument("--language", choices=["ja", "en"], default="ja")
    add.add_argument("--org", default=DEFAULT_ORGANISATION, help="the user's organisation (default: default)")
    add.add_argument("--area", default="", help="viewers: the one area they read (default: all)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    _config_again(add)
    add.set_defaults(func=_user_add)
    password = user_actions.add_parser("password", help="set a new password")
    password.add_argument("username")
    password.add_argument("--password-stdin", action="store_true")
    _config_again(password)
    password.set_defaults(func=_user_password)
    reset = user_actions.add_parser(
        "reset-second-factor", help="forget an account's second factor (lost phone): set up again at sign-in"
    )
    reset.add_argument("username")
    _config_again(reset)
    reset.set_defaults(func=_user_reset_second_factor)
    listing = user_actions.add_parser("list", help="list accounts and their households")
    listing.add_argument("--org", default=None, help="only this organisation's accounts")
    _config_again(listing)
    listing.set_defaults(func=_user_list)

    for name, func, text in (
        ("assign", _assign, "let a care manager see households"),
        ("unassign", _unassign, "stop a care manager seeing households"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("username")
        action.add_argument("households", nargs="+", metavar="HOUSEHOLD")
        _config_again(action)
        action.set_defaults(func=func)


def _config_again(parser: argparse.ArgumentParser) -> None:
    """``--config`` after the action too, without hiding one given before it (no default here)."""
    parser.add_argument("--config", type=Path, default=argparse.SUPPRESS, help="TOML configuration file")


@contextmanager
def _users(config: Config) -> Iterator[UserStore]:
    """The configured accounts file, open for one command."""
    users = UserStore(config.dashboard.users_path)
    users.open()
    try:
        yield users
    finally:
        users.close()


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise UserError("the passwords differ")
    return first


def _user_add(args: argparse.Namespace) -> int:
    try:
        with _users(config_from(args)) as users:
            user = users.add_user(
                args.username,
                args.name,
                StaffRole(args.role),
                _read_password(args),
                language=args.language,
                organisation=args.org,
                area=args.area,
                now=SystemClock().now(),
            )
    except UserError as exc:
        print(f"mimamori: {exc}", file=sys.stderr)
        return 2
    print(f"added {user.role.value} {user.username} of {user.organisation}")
    return 0


def _user_password(args: argparse.Namespace) -> int:
    try:
        with _users(config_from(args)) as users:
            users.set_password(args.username, _read_password(args))
    except UserError as exc:
        print(f"mimamori: {exc}", file=sys.stderr)
        return 2
    print(f"password changed for {args.username}")
    return 0


def _user_reset_second_factor(args: argparse.Namespace) -> int:
    with _users(config_from(args)) as users:
        if users.user(args.username) is None:
            print(f"mimamori: no user {args.username!r}", file=sys.stderr)
            return 2
        users.remove_second_factor(args.username)
    log.warning("dashboard.second_factor_reset user=%s by=command", args.username)
    print(f"second factor removed for {args.username}; it is set up again at the next sign-in if required")
    return 0


def _user_list(args: argparse.Namespace) -> int:
    with _users(config_from(args)) as users:
        for user in users.users(args.org):
            print(
                "\t".join(
                    (user.username, user.role.value, user.language, user.display_name, _sees(users, user))
                )
            )
    return 0


def _sees(users: UserStore, user: User) -> str:
    """What the user sees, as ``user list`` says it (the organisation last, when not the default)."""
    if user.is_admin:
        return "all households"
    if user.role is StaffRole.CARE_MANAGER:
        seen = " ".join(sorted(users.assigned(user.username)))
    else:
        seen = f"area {user.area}" if user.area else "all of the organisation"
    return seen if user.organisation == DEFAULT_ORGANISATION else f"{seen}\t{user.organisation}"


def _assign(args: argparse.Namespace) -> int:
    try:
        with _users(config_from(args)) as users:
            for household in args.households:
                users.assign(args.username, household)
    except UserError as exc:
        print(f"mimamori: {exc}", file=sys.stderr)
        return 2
    print(f"{args.username} now sees {len(args.households)} more household(s)")
    return 0


def _unassign(args: argparse.Namespace) -> int:
    with _users(config_from(args)) as users:
        for household in args.households:
            users.unassign(args.username, household)
    return 0


def _serve(args: argparse.Namespace) -> int:
    config = config_from(args)
    with ExitStack() as stack:
        users = stack.enter_context(_users(config))
        events = open_reader(config)  # SQLite or InfluxDB, as ingest writes
        stack.callback(events.close)
        repo = EscalationRepository(config.alerts.state_path)
        repo.open()
        stack.callback(repo.close)
        app = create_app(
            config.dashboard,
            users=users,
            activity=events,
            records=StateCareRecords(
                repo,
                StaffCommands(repo, operators(config), config.time_zone),
                points=points_rule(config.volunteers.points),
                time_zone=config.time_zone,
            ),
            classify=PersistedStates(repo),
            clock=SystemClock(),
            disasters=DisasterDesk(repo),
        )
        host = args.host or config.dashboard.host
        port = config.dashboard.port if args.port is None else args.port
        log.info("dashboard.started url=http://%s:%s users=%s", host, port, len(users.users()))
        try:
            web.run_app(
                app,
                host=host,
                port=port,
                print=lambda text: print(text, flush=True),
                access_log=None,
                shutdown_timeout=5,
                handler_cancellation=True,
            )
        except OSError as exc:  # the address is taken (or not ours): one line, naming the setting
            raise SystemExit(
                f"mimamori dashboard: cannot serve on {host}:{port} ({exc.strerror}); choose another with "
                "--port or MIMAMORI__DASHBOARD__PORT (setting dashboard.port)"
            ) from None
    return 0
