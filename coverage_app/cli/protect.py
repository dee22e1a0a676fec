"""``protect`` and ``decrypt``; every command that reads a project opens protected ones with
``--passphrase-env VAR`` (the *name* of an environment variable holding the passphrase; the
passphrase itself is never an argument, so it stays out of shell history and ``ps``).
"""

from __future__ import annotations

import os
from pathlib import Path

from coverage_app.core.data import protect
from coverage_app.core.data.project import ProjectError, bundled_project_path

PASSPHRASE_HELP = ("name of an environment variable holding the passphrase of a protected project "
                   "(e.g. --passphrase-env COVERAGE_PASS after `read -s COVERAGE_PASS; export COVERAGE_PASS`)")


def passphrase_from_env(var: str | None, flag: str = "--passphrase-env") -> str:
    if not var:
        raise ProjectError(f"a passphrase is needed: put it in an environment variable and give its name with {flag}")
    value = os.environ.get(var)
    if value is None:
        raise ProjectError(f"{flag} {var}: the environment variable {var} is not set (export it first; the "
                           "passphrase is never given on the command line)")
    if not value:
        raise ProjectError(f"{flag} {var}: the environment variable {var} is empty")
    return value


def open_project_arg(value, args):
    """The project named on the command line (plain or protected) or the bundled one."""
    path = Path(value) if value else bundled_project_path()
    var = getattr(args, "passphrase_env", None)
    secret = passphrase_from_env(var) if (var and protect.is_protected(path)) else None
    return protect.open_project(path, secret)


def archive_key(project, args) -> protect.Key:
    """The key for an encrypted export: the protected project's, else one from --passphrase-env."""
    if project.protected:
        return project.protection
    new = passphrase_from_env(getattr(args, "passphrase_env", None))
    weak = protect.passphrase_problem(new)
    if weak:
        raise ProjectError(f"the passphrase is too weak: {weak}")
    return protect.Key.new(new)


CONFIRM_HELP = ("a protected project's full (not --safe-share) output in clear holds facility names and exact "
                "locations: this flag confirms it is meant (without it the command refuses)")


def add_confirm_flag(parser) -> None:
    parser.add_argument("--confirm-full-export", action="store_true", help=CONFIRM_HELP)


def require_full_confirmation(project, args, what: str) -> None:
    """Refuse a full ``what`` (export, briefing) of a protected project in clear without
    ``--confirm-full-export`` (the window asks for the passphrase again at this point).

    ``--safe-share`` outputs and encrypted archives (``--encrypt``) need no confirmation.
    """
    if not getattr(project, "protected", False) or getattr(args, "safe_share", False) \
            or getattr(args, "encrypt", False) or getattr(args, "confirm_full_export", False):
        return
    from coverage_app.core.errors import InputError, Problem

    raise InputError(Problem(
        "error", f"this project is protected and a full {what} would write facility names and exact locations "
        "in clear; nothing was written. Add --safe-share (generalised, safe to share), --encrypt (analyse: an "
        "encrypted archive), or --confirm-full-export if a full copy in clear is really meant",
        file=str(project.path)))


def add_passphrase_flags(subparsers) -> None:
    """Give every command with a PROJECT argument ``--passphrase-env VAR``."""
    for parser in {id(p): p for p in subparsers.choices.values()}.values():
        if any(a.dest == "project" for a in parser._actions) and \
                not any(a.dest == "passphrase_env" for a in parser._actions):
            parser.add_argument("--passphrase-env", metavar="VAR", help=PASSPHRASE_HELP)


def cmd_protect(args) -> int:
    project = open_project_arg(args.project, args)
    out = Path(args.out)
    if not out.name.endswith(protect.PROTECTED_SUFFIX):
        raise ProjectError(f"--out {out.name}: a protected project file ends in {protect.PROTECTED_SUFFIX}")
    if args.new_passphrase_env or not project.protected:
        new = passphrase_from_env(args.new_passphrase_env or args.passphrase_env,
                                  "--new-passphrase-env" if args.new_passphrase_env else "--passphrase-env")
        weak = protect.passphrase_problem(new)
        if weak:
            raise ProjectError(f"the passphrase is too weak: {weak}")
        key = protect.Key.new(new)
    else:
        key = project.protection
    names = {ref.name for ref in project.layers}
    for name in args.sensitive or []:
        if name not in names:
            raise ProjectError(f"--sensitive {name!r}: no such layer in the project (layers: {', '.join(sorted(names))})")
        next(ref for ref in project.layers if ref.name == name).options["sensitive"] = True
    clear = sorted({ref.path for ref in project.layers if protect.is_sensitive(ref) and not ref.options.get("embedded")})
    protect.save_protected(project, out, key=key)
    embedded = [ref.name for ref in project.layers if ref.options.get("embedded")]
    print(f"wrote {out}: project and {len(embedded)} sensitive layer(s) encrypted ({', '.join(embedded)}); "
          f"key derivation {key.kdf['name']}")
    for path in clear:
        print(f"note: the original {path} is still readable in clear; delete it, or keep it off this machine, "
              "if the protected project replaces it")
    return 0


def cmd_decrypt(args) -> int:
    path = Path(args.file)
    if not path.exists():
        raise ProjectError(f"{path}: file not found")
    files = protect.decrypt_archive(path, args.out, passphrase_from_env(args.passphrase_env))
    print(f"decrypted {len(files)} file(s) into {args.out}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("protect", help="write a protected (encrypted) copy of a project and its sensitive layers")
    p.add_argument("project", nargs="?", metavar="PROJECT", help="project file (default: the bundled Sagaing one)")
    p.add_argument("--out", required=True, metavar=f"FILE{protect.PROTECTED_SUFFIX}")
    p.add_argument("--passphrase-env", metavar="VAR", help="variable holding the passphrase (to read a protected "
                   "PROJECT, and for the new file unless --new-passphrase-env)")
    p.add_argument("--new-passphrase-env", metavar="VAR", help="variable holding a new passphrase for the output")
    p.add_argument("--sensitive", action="append", metavar="LAYER",
                   help="also encrypt this layer (by its name in the project; facilities always are)")
    p.set_defaults(func=cmd_protect)

    p = sub.add_parser("decrypt", help=f"open an encrypted export archive (*{protect.ARCHIVE_SUFFIX})")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write the files into")
    p.add_argument("--passphrase-env", metavar="VAR", required=True, help="variable holding the passphrase")
    p.set_defaults(func=cmd_decrypt)
