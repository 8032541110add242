"""Command line for staff and operators: `python -m bot --help`."""
from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, NoReturn, Optional

from bot.core import data
from bot.core.clinics import ClinicProfileError
from bot.core.files import PRIVATE_DIR, VAR, secure_for, secure_tree
from bot.core.logs import configure_logging
from bot.core.paths import ROOT
from bot.core.settings import Settings, get_settings, require_internal_token
from bot.leads import content_gaps as gaps, spool, store as leads
from bot.leads.notify import deliver_due, smtp_problem
from bot.staff import accounts as staff, live_chat
from bot.store import audit, clinic_profiles, conversations
from bot.store.db import migrate

logger = logging.getLogger("bot.ops.cli")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Medius operations")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="load and validate every data file")
    commands.add_parser("migrate", help="apply database migrations (DATABASE_URL), then import the clinics file "
                                        "(MEDIUS_CLINICS_FILE) if the database holds no clinic yet")
    commands.add_parser("origins", help="print the websites allowed to embed the widget")
    web = commands.add_parser("web", help="the public web server: widget, demo pages, the chat endpoint")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=8000)
    actions = commands.add_parser("actions", help="the action server, for Rasa only (internal token)")
    actions.add_argument("--host", default="127.0.0.1")
    actions.add_argument("--port", type=int, default=5055)
    actions.add_argument("--workers", type=int, default=1, help="processes sharing the port (Sanic workers)")
    commands.add_parser("run", help="every process under supervisord (supervisord.conf), as `make run` does")
    prod = commands.add_parser("run-prod", help="the production topology on this machine, under supervisord "
                                                "(PostgreSQL and Redis started locally when no URL is set)")
    prod.add_argument("--rasa-workers", type=int, default=2, help="Rasa processes (ports RASA_PORT and up)")
    prod.add_argument("--action-workers", type=int, default=2, help="action-server worker processes")
    notify = commands.add_parser("notify", help="send due staff notifications and replay spooled leads")
    notify.add_argument("--loop", action="store_true", help="keep going until stopped")
    notify.add_argument("--interval", type=float, default=5.0, help="seconds between rounds with --loop")

    lead = commands.add_parser("leads", help="read and manage leads").add_subparsers(dest="action", required=True)
    listing = lead.add_parser("list", help="one line per lead, newest first")
    listing.add_argument("--clinic")
    show = lead.add_parser("show", help="one lead in full, as JSON")
    show.add_argument("id", type=int)
    export = lead.add_parser("export", help="every lead as JSON or CSV")
    export.add_argument("--format", choices=["json", "csv"], default="json")
    export.add_argument("--clinic")
    status = lead.add_parser("status", help="change a lead's status")
    status.add_argument("id", type=int)
    status.add_argument("status", choices=["new", "contacted", "booked", "closed"])
    status.add_argument("--note")
    lead.add_parser("purge", help="delete leads older than their clinic's retention (LEAD_RETENTION_DAYS), audit "
                                  "entries older than AUDIT_RETENTION_DAYS and conversations idle for "
                                  "CONVERSATION_RETENTION_DAYS")
    lead.add_parser("replay", help="move spooled leads into the database now")

    people = commands.add_parser("staff", help="staff accounts for the inbox (/inbox)").add_subparsers(
        dest="action", required=True)
    add = people.add_parser("add", help="a new account; the password is read from standard input")
    add.add_argument("--email", required=True)
    add.add_argument("--clinic", help="the clinic whose leads the account sees")
    add.add_argument("--name", help='the name visitors read in a live chat ("Dana"); by default, one made from '
                                    "the email's first word")
    add.add_argument("--admin", action="store_true", help="with --clinic, the clinic's admin (also reads its audit "
                                                          "log); alone, an operator who sees every clinic")
    add.add_argument("--clinic-admin", action="store_true", help="the clinic's admin (needs --clinic): also runs its "
                                                                 "settings (/inbox/settings) and reads its audit log")
    people.add_parser("list", help="every account, one per line")
    disable = people.add_parser("disable", help="disable an account and end its sessions")
    disable.add_argument("--email", required=True)
    reset = people.add_parser("reset-password", help="a new password (from standard input); ends its sessions")
    reset.add_argument("--email", required=True)
    reset_mfa = people.add_parser("reset-mfa", help="two-step login off for a lost phone (it must enrol again "
                                                    "where required); ends its sessions")
    reset_mfa.add_argument("--email", required=True)

    secrets_ = commands.add_parser("keys", help="the keys that encrypt health data in the lead store").add_subparsers(
        dest="action", required=True)
    secrets_.add_parser("rotate", help="a new key for new writes (no restart), then move every row to it")
    secrets_.add_parser("reencrypt", help="move every row still under an older key (or none) to the current one")

    tokens = commands.add_parser("tokens", help="clinics' API tokens for /inbox/api").add_subparsers(
        dest="action", required=True)
    new_token = tokens.add_parser("add", help="a new token for a clinic, printed once")
    new_token.add_argument("--clinic", required=True)
    new_token.add_argument("--label", default="integration", help="what the token is for")
    tokens.add_parser("list", help="every token (never the token itself)")
    revoke = tokens.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("id", type=int)

    profiles = commands.add_parser("clinics", help="clinic profiles in the database, as clinics.yml files"
                                   ).add_subparsers(dest="action", required=True)
    dump = profiles.add_parser("export", help="every clinic's profile as a clinics.yml file")
    dump.add_argument("--output", type=Path, help="write it to this file (default: print it)")
    load = profiles.add_parser("import", help="add or change the clinics of a clinics.yml file (validated: all "
                                              "or none); clinics it does not name stay")
    load.add_argument("file", type=Path)
    return parser


def _actor() -> str:
    """Who runs a command, as the audit log names them: the operating system's user."""
    try:
        return f"{audit.COMMAND_LINE} ({getpass.getuser()})"
    except (KeyError, OSError):
        return audit.COMMAND_LINE


def _read_password() -> str:
    """The password from standard input, never from the command line (argv is visible to every user)."""
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise staff.StaffError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _staff_command(settings, args) -> int:
    if args.action == "add":
        if args.clinic and data.clinics().get(args.clinic) is None:
            raise staff.StaffError(f"no clinic {args.clinic!r}")
        if args.clinic_admin and not args.clinic:
            raise staff.StaffError("--clinic-admin needs --clinic: the clinic the account runs")
        account = staff.add_account(settings, args.email, _read_password(), args.clinic,
                                    args.admin or args.clinic_admin, actor=_actor(), name=args.name)
        role = "admin, every clinic" if account.operator else f"admin of {account.clinic}" if account.is_admin \
            else account.clinic
        print(f"added {account.email} ({role})")
    elif args.action == "list":
        for row in staff.list_accounts(settings):
            flags = " ".join(flag for flag in ("admin", "mfa", "disabled") if row[flag])
            print(f"{row['email']:<40} {row['clinic']:<10} {flags:<16} last login {row['last_login'] or 'never'}")
    elif args.action == "disable":
        staff.disable_account(settings, args.email, actor=_actor())
        print(f"disabled {args.email}")
    elif args.action == "reset-password":
        staff.reset_password(settings, args.email, _read_password(), actor=_actor())
        print(f"new password set for {args.email}; its sessions are ended")
    elif args.action == "reset-mfa":
        staff.reset_mfa(settings, args.email, actor=_actor())
        print(f"two-step login reset for {args.email}; its sessions are ended")
    return 0


def _token_command(settings, args) -> int:
    if args.action == "add":
        if data.clinics().get(args.clinic) is None:
            raise staff.StaffError(f"no clinic {args.clinic!r}")
        token_id, token = staff.add_token(settings, args.clinic, args.label, actor=_actor())
        print(f"token {token_id} for {args.clinic} (shown only now, store it safely):")
        print(token)
    elif args.action == "list":
        for row in staff.list_tokens(settings):
            state = "revoked" if row["revoked"] else "active"
            print(f"{row['id']:>4}  {row['clinic']:<10} {state:<8} {row['label']:<24} created {row['created']}  "
                  f"last used {row['last_used'] or 'never'}")
    elif args.action == "revoke":
        if not staff.revoke_token(settings, args.id, actor=_actor()):
            print(f"no token with id {args.id}", file=sys.stderr)
            return 1
        print(f"revoked token {args.id}")
    return 0


def _clinics_command(settings, args) -> int:
    try:
        if args.action == "export":
            text = clinic_profiles.export_document(settings)
            if args.output:
                args.output.write_text(text, encoding="utf-8")
                print(f"wrote {args.output}")
            else:
                print(text, end="")
            return 0
        counts = clinic_profiles.import_file(settings, args.file, _actor())
    except ClinicProfileError as error:
        print(f"error: {error}; nothing was imported" if args.action == "import" else f"error: {error}",
              file=sys.stderr)
        return 1
    for clinic_id, changed in counts.items():
        print(f"{clinic_id}: " + ("added" if changed < 0 else f"{changed} field(s) changed"))
    return 0


def _migrate(settings: Settings, url: str) -> None:
    """The newest schema, then the clinics file imported into a database that holds no clinic yet."""
    migrate(url)
    seeded = clinic_profiles.seed_from_file(dataclasses.replace(settings, database_url=url), _actor())
    if seeded:
        print(f"imported {seeded} clinic(s) from {settings.clinics_file}; from now on the database holds them "
              f"(python -m bot clinics export|import)")


def _keys_command(settings, args) -> int:
    from bot.store import crypto
    from bot.store.db import engine_for

    if args.action == "rotate":
        if settings.data_keys:
            print("error: the keys come from MEDIUS_DATA_KEYS: put a new key first there "
                  f"(for example {crypto.new_key_line()}), restart, then run `keys reencrypt`", file=sys.stderr)
            return 1
        key_id = crypto.rotate(settings.data_key_file)
        audit.write(settings, audit.KEYS_ROTATE, _actor(), detail=f"new data key {key_id}")
        print(f"new data key {key_id} in {settings.data_key_file}; new writes use it within "
              f"{crypto.RELOAD_SECONDS:.0f} s")
    time.sleep(crypto.RELOAD_SECONDS if args.action == "rotate" else 0)  # every process has read the new key
    with engine_for(settings.database_url).begin() as connection:
        print(f"re-encrypted {crypto.reencrypt(connection)} row(s) under the current key")
    return 0


PURGE_EVERY_SECONDS = 3600


def _notify_round(settings) -> None:
    try:
        leads.replay_spool(settings, data.clinics())
    except Exception as error:  # noqa: BLE001 - the database may still be away: keep the spool, try next round
        logger.warning("Spool replay failed (%s); will retry", type(error).__name__)
    try:
        counts = deliver_due(settings)
    except Exception as error:  # noqa: BLE001 - the database is away: the notifier waits for it, it never exits
        logger.warning("Notification round failed (%s); will retry", type(error).__name__)
        return
    if any(counts.values()):
        logger.info("Notifications: %s", counts)


def _purge_expired(settings) -> None:
    """Retention, every PURGE_EVERY_SECONDS in the notifier (one process, where the web server may run several)."""
    for purge in (leads.purge, audit.purge, conversations.purge, gaps.purge, live_chat.purge):
        try:
            purge(settings)
        except Exception as error:  # noqa: BLE001 - a store may be away: try again next time
            logger.warning("Purge by %s failed (%s); will retry", purge.__module__, type(error).__name__)


def supervise(settings: Settings, env: Dict[str, str]) -> NoReturn:
    """Become supervisord (supervisord.conf): `var/` and the run folder tightened first, and the umask 077 that
    secure_for set passed on, so its pid file and socket and every file its programs write are the owner's."""
    secure_tree(VAR)
    settings.run_dir.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    secure_tree(settings.run_dir)
    env = {**env, "MEDIUS_RUN_DIR": str(settings.run_dir)}
    supervisord = str(Path(sys.executable).with_name("supervisord"))
    os.execve(supervisord, [supervisord, "-c", str(ROOT / "supervisord.conf")], env)


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level)
    secure_for(settings)  # before any file is opened: databases, spool and secrets for this user only
    data.read_clinics_from(clinic_profiles.directory)  # every process started here: the database's profiles
    if args.command == "check":
        data.load_all()
        print("data files OK")
        return 0
    if args.command == "origins":
        print(" ".join(data.clinics().allowed_origins()))
        return 0
    if args.command == "web":
        import uvicorn

        from bot.core.gc_freeze import freeze_startup_objects
        from bot.core.triage import cached_triage
        from bot.web.app import create_app

        require_internal_token(settings)
        app = create_app(settings)  # the database's clinic profiles, live
        cached_triage(str(settings.triage_file))  # what the app's start-up loads, here to be frozen with the rest
        freeze_startup_objects("web")
        uvicorn.run(app, host=args.host, port=args.port,
                    log_level="info", access_log=False,  # an access log would keep visitors' addresses
                    proxy_headers=bool(settings.trusted_proxies), forwarded_allow_ips=settings.trusted_proxies or None,
                    ws="none")  # Rasa pins an older websockets; the widget needs none
        return 0
    if args.command == "actions":
        from bot.ops.action_server import serve

        serve(require_internal_token(settings), args.host, args.port, max(1, args.workers))
        return 0
    if args.command == "migrate":
        _migrate(settings, settings.database_url)
        return 0
    if args.command == "run":
        require_internal_token(settings)
        supervise(settings, dict(os.environ))
    if args.command == "run-prod":
        from bot.ops.topology import production_env

        require_internal_token(settings)
        env = production_env(os.environ, max(1, args.rasa_workers), max(1, args.action_workers))
        _migrate(settings, env["DATABASE_URL"])
        supervise(settings, env)
    if args.command == "notify":
        problem = smtp_problem(settings)
        if problem:  # emails stay queued; webhooks, spool replay and purges go on
            logger.error(problem)
        last_purge = 0.0
        while True:
            _notify_round(settings)
            if not args.loop:
                return 0
            if time.monotonic() - last_purge >= PURGE_EVERY_SECONDS:
                _purge_expired(settings)
                last_purge = time.monotonic()
            time.sleep(args.interval)
    if args.command == "keys":
        return _keys_command(settings, args)
    if args.command == "clinics":
        return _clinics_command(settings, args)
    if args.command in ("staff", "tokens"):
        try:
            return (_staff_command if args.command == "staff" else _token_command)(settings, args)
        except staff.StaffError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    if args.action == "list":
        for record in leads.list_leads(settings, args.clinic):
            contact = record["phone"] or record["email"]
            alert = "  NOTICE FAILED: tell the clinic" if record["notification_status"] == "failed" else ""
            print(f"{record['id']:>5}  {record['created_at'][:16]}  {record['clinic']:<8} {record['urgency']:<12} "
                  f"{record['status']:<9} {record['name']}  {contact}{alert}")
        waiting, refused = spool.pending(settings.spool_file), spool.quarantined(settings.spool_file)
        if waiting:
            print(f"Some leads wait in the spool {settings.spool_file} for the database; the notifier replays "
                  f"them (or: python -m bot leads replay).", file=sys.stderr)
        if refused:
            print(f"{refused} lead(s) the database refused are quarantined in "
                  f"{spool.quarantine_file(settings.spool_file)}: a person must look at them.", file=sys.stderr)
        return 0
    if args.action == "show":
        lead = leads.get_lead(settings, args.id)
        if lead is None:
            print(f"no lead with id {args.id}", file=sys.stderr)
            return 1
        audit.write(settings, audit.LEAD_VIEW, _actor(), lead_id=args.id)
        print(json.dumps(lead, indent=2, ensure_ascii=False))
        return 0
    if args.action == "export":
        records = leads.list_leads(settings, args.clinic)
        audit.write(settings, audit.LEADS_EXPORT, _actor(), clinic=args.clinic,
                    detail=audit.export_detail([record["id"] for record in records], args.format))
        print(leads.export(records, args.format))
        return 0
    if args.action == "status":
        if not leads.set_status(settings, args.id, args.status, args.note, actor=_actor()):
            print(f"no lead with id {args.id}", file=sys.stderr)
            return 1
        return 0
    if args.action == "purge":
        print(f"deleted {leads.purge(settings)} lead(s) older than their clinic's retention (default "
              f"{settings.lead_retention_days} days)")
        print(f"deleted {audit.purge(settings)} audit entries older than {settings.audit_retention_days} days")
        print(f"deleted {conversations.purge(settings)} conversation(s) idle for over "
              f"{settings.conversation_retention_days} days")
        print(f"deleted {gaps.purge(settings)} unanswered question(s) older than "
              f"{settings.conversation_retention_days} days")
        print(f"deleted {live_chat.purge(settings)} live chat(s) closed for over "
              f"{settings.conversation_retention_days} days")
        return 0
    if args.action == "replay":
        print(f"replayed {leads.replay_spool(settings, data.clinics())} lead(s)")
        return 0
    return 2
