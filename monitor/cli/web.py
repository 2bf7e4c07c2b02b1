"""`heishi serve` (the review web app) and `heishi users add|list|password|disable|enable`
(who may use it)."""

from __future__ import annotations

import argparse
import sys

from monitor.cli.app import add_db_option, store_path

ROLES = ("viewer", "reviewer", "admin")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="the review web app: alert queue, alerts, sources")
    add_db_option(serve)
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, default=8340, help="port (default 8340)")
    serve.add_argument(
        "--behind-proxy",
        metavar="ADDRESSES",
        help="believe X-Forwarded-For/-Proto from these proxy addresses (comma-separated, e.g. "
        "127.0.0.1); without it the client is the address that connected (the log-in "
        "throttle counts per client address)",
    )
    serve.set_defaults(func=cmd_serve)

    users = sub.add_parser("users", help="the web app's users and their roles")
    actions = users.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add", help="add a user (viewer reads, reviewer triages, admin manages users)"
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add_db_option(add, create=True)
    add.set_defaults(func=cmd_users_add)
    password = actions.add_parser(
        "password", help="set a user's password (their sessions end: they log in again)"
    )
    password.add_argument("name", metavar="NAME")
    password.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add_db_option(password)
    password.set_defaults(func=cmd_users_password)
    listing = actions.add_parser("list", help="the users, their roles and whether they may log in")
    add_db_option(listing)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_users_list)
    token = actions.add_parser(
        "token",
        help="make an API token for a user (shown once), or --revoke every token they have",
        description="A token lets a program (a SIEM, a ticketing system) use the JSON API under "
        "/api/ as this user, with this user's role: send it as `Authorization: Bearer TOKEN`. "
        "Only its hash is stored; it is printed once. A disabled user's tokens are refused.",
    )
    token.add_argument("name", metavar="NAME")
    token.add_argument("--revoke", action="store_true", help="revoke all of the user's tokens")
    token.add_argument("--json", action="store_true")
    add_db_option(token)
    token.set_defaults(func=cmd_users_token)
    for name, helptext in (("disable", "stop a user logging in"), ("enable", "let them again")):
        change = actions.add_parser(name, help=helptext)
        change.add_argument("name", metavar="NAME")
        add_db_option(change)
        change.set_defaults(func=cmd_users_access, disabled=name == "disable")


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from monitor.config import db_path
    from monitor.web.app import create_app

    path = db_path(args.db)
    app = create_app(path)
    with_users = _user_count(path)
    print(f"heishi: reviewing {path} at http://{args.host}:{args.port}/", file=sys.stderr)
    if not with_users:
        print(
            "hint: no users yet; add one with: heishi users add NAME --role admin", file=sys.stderr
        )
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="info",
        server_header=False,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 by default: any local process could
        # then pose as any client. Only an operator's --behind-proxy turns it on.
        proxy_headers=bool(args.behind_proxy),
        forwarded_allow_ips=args.behind_proxy or None,
    )
    return 0


def _user_count(path) -> int:
    from monitor.store import open_store

    with open_store(path, readonly=True) as store:
        return len(store.review.users())


def _read_password(from_stdin: bool, name: str) -> str:
    from monitor.errors import HeishiError
    from monitor.web.auth import password_problem

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        import getpass

        if not sys.stdin.isatty():
            raise HeishiError(
                "no terminal to ask for the password on",
                hint="pipe the password in and add --password-stdin "
                "(e.g. ... --password-stdin < password.txt)",
            )
        try:
            password = getpass.getpass("Password: ")
            again = getpass.getpass("Again: ")
        except EOFError:
            raise HeishiError("no password given (the input ended)") from None
        if again != password:
            raise HeishiError("the two passwords differ")
    problem = password_problem(password, name)
    if problem:
        raise HeishiError(problem, hint="use a long passphrase of several unrelated words")
    return password


def cmd_users_add(args: argparse.Namespace) -> int:
    from monitor.errors import HeishiError
    from monitor.store import open_store, utc_now
    from monitor.web.auth import hash_password, user_name_problem

    problem = user_name_problem(args.name)  # the web log-in's own check
    if problem:
        raise HeishiError(problem, hint="for example: ada, rita.chen or 王芳")
    password = _read_password(args.password_stdin, args.name)
    with open_store(store_path(args)) as store:
        if store.review.user(args.name):
            raise HeishiError(
                f"there is already a user {args.name}", hint="change it on the web app's Users page"
            )
        store.review.add_user(args.name, args.role, hash_password(password), now=utc_now())
    print(f"user {args.name} added ({args.role})")
    return 0


def cmd_users_password(args: argparse.Namespace) -> int:
    from monitor.config import db_path
    from monitor.errors import HeishiError
    from monitor.store import open_store
    from monitor.web.auth import hash_password

    with open_store(db_path(args.db)) as store:
        if not store.review.user(args.name):
            raise HeishiError(f"there is no user {args.name}")
        password = _read_password(args.password_stdin, args.name)
        store.review.update_user(args.name, password_hash=hash_password(password))
    print(f"user {args.name}: password changed")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    import json

    from monitor.config import db_path
    from monitor.store import open_store

    with open_store(db_path(args.db), readonly=True) as store:
        users = store.review.users()
    if args.json:
        for user in users:
            print(json.dumps(user, ensure_ascii=False))
        return 0
    for user in users:
        access = "disabled" if user["disabled"] else "active"
        print(f"{user['name']:<20} {user['role']:<9} {access:<9} since {user['created_at']}")
    return 0


def cmd_users_token(args: argparse.Namespace) -> int:
    import json

    from monitor.errors import HeishiError
    from monitor.store import open_store, utc_now
    from monitor.web.tokens import new_token

    with open_store(store_path(args)) as store:
        user = store.review.user(args.name)
        if not user:
            raise HeishiError(f"there is no user {args.name}", hint="heishi users list")
        if args.revoke:
            revoked = store.api_tokens.revoke(args.name, now=utc_now())
            if args.json:
                print(json.dumps({"user": args.name, "revoked": revoked}, ensure_ascii=False))
            else:
                print(f"user {args.name}: {revoked} token(s) revoked")
            return 0
        if user["disabled"]:
            raise HeishiError(
                f"user {args.name} is disabled: a token would be refused",
                hint=f"heishi users enable {args.name}",
            )
        token, digest, prefix = new_token()
        store.api_tokens.add(args.name, digest, prefix, now=utc_now())
    if args.json:
        print(json.dumps({"user": args.name, "role": user["role"], "token": token}))
    else:
        print(token)
        print(
            f"an API token for {args.name} ({user['role']}); it is shown only this once: "
            "keep it where the program that uses it reads it",
            file=sys.stderr,
        )
    return 0


def cmd_users_access(args: argparse.Namespace) -> int:
    from monitor.errors import HeishiError
    from monitor.store import open_store

    with open_store(store_path(args)) as store:
        if not store.review.user(args.name):
            raise HeishiError(f"there is no user {args.name}")
        store.review.update_user(args.name, disabled=args.disabled)
    print(f"user {args.name} {'disabled' if args.disabled else 'enabled'}")
    return 0
