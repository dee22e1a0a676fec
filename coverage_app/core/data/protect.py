"""Protected (encrypted) projects, autosaves and export archives.

One file format for all three: ``MAGIC``, a 4-byte big-endian header length, a UTF-8 JSON
header (format version, kind, KDF name and parameters, salt, nonce), then AES-256-GCM
ciphertext whose associated data is everything before it (so the header cannot be altered
either). The key comes from a passphrase through Argon2id (RFC 9106's second recommended
setting: 64 MiB, 3 passes, 4 lanes; about 0.13 s on the 2-core test machine), or scrypt
(n=2**17, r=8, p=1) where the installed ``cryptography`` lacks Argon2id. The KDF output is
split by HMAC-SHA256 into the AES key and a 16-byte passphrase check kept in the header, so
a wrong passphrase and a damaged or altered file get different messages (the check costs
an attacker a full KDF run per guess, the same as trying to decrypt).

The payload is a zip held in memory: ``project.json`` plus one GeoPackage per sensitive
layer (``layers/N.gpkg``, written and read through pyogrio's in-memory /vsimem/ buffers,
never a clear temporary file). Non-sensitive layers stay referenced by relative path.
Nothing here touches Qt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import os
import stat
import struct
import warnings
import zipfile
from pathlib import Path

from coverage_app.core import runcache
from coverage_app.core.atomic import atomic_path
from coverage_app.core.data.project import (PROJECT_FORMAT, PROJECT_VERSION, PROTECTED_SUFFIX,  # noqa: F401
                                            LayerRef, Project, ProjectError)
from coverage_app.core.data.roles import ROLES

MAGIC = b"COVERAGE-APP-PROTECTED\n"
FORMAT_VERSION = 1
ARCHIVE_SUFFIX = ".zip.enc"
SENSITIVE_ROLES = ("facilities",)
PASSPHRASE_MIN_CHARS = 12

ARGON2ID = {"name": "argon2id", "memory_kib": 65536, "iterations": 3, "lanes": 4, "length": 32}
SCRYPT = {"name": "scrypt", "n": 2 ** 17, "r": 8, "p": 1, "length": 32}


class ProtectError(ProjectError):
    """A protected file that cannot be opened; the file and the open project are unchanged."""


class WrongPassphrase(ProtectError):
    pass


class NeedsPassphrase(ProtectError):
    """A protected project was opened without a passphrase."""


class DamagedFile(ProtectError):
    pass


def default_kdf() -> dict:
    try:
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id  # noqa: F401  (cryptography >= 44)

        return dict(ARGON2ID)
    except ImportError:  # pragma: no cover - older cryptography
        return dict(SCRYPT)


def _derive(passphrase: str, kdf: dict, salt: bytes) -> bytes:
    secret = passphrase.encode("utf-8")
    if kdf.get("name") == "argon2id":
        try:  # argon2-cffi releases the GIL while it hashes (cryptography's Argon2id holds it for the
            # whole 0.15-0.7 s, so the window froze even with the call on a worker thread); same RFC 9106 output
            from argon2.low_level import Type, hash_secret_raw

            return hash_secret_raw(secret, salt, time_cost=int(kdf["iterations"]), memory_cost=int(kdf["memory_kib"]),
                                   parallelism=int(kdf["lanes"]), hash_len=int(kdf["length"]), type=Type.ID)
        except ImportError:  # pragma: no cover - argon2-cffi missing
            pass
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

        return Argon2id(salt=salt, length=int(kdf["length"]), iterations=int(kdf["iterations"]),
                        lanes=int(kdf["lanes"]), memory_cost=int(kdf["memory_kib"])).derive(secret)
    if kdf.get("name") == "scrypt":
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

        return Scrypt(salt=salt, length=int(kdf["length"]), n=int(kdf["n"]), r=int(kdf["r"]),
                      p=int(kdf["p"])).derive(secret)
    raise ProtectError(f"unknown key derivation '{kdf.get('name')}': written by a newer version of the app?")


class Key:
    """An AES-256-GCM key derived from a passphrase, with the salt and KDF that made it.

    The passphrase itself is not kept. Saving again with the same Key (project, autosave,
    archive) reuses the salt and picks a fresh random 96-bit nonce for every file.
    """

    def __init__(self, kdf: dict, salt: bytes, master: bytes):
        self.kdf = dict(kdf)
        self.salt = bytes(salt)
        self._aes = bytearray(hmac.new(master, b"coverage-app aes-256-gcm key", hashlib.sha256).digest())
        self.check = hmac.new(master, b"coverage-app passphrase check", hashlib.sha256).digest()[:16]

    @classmethod
    def new(cls, passphrase: str, kdf: dict | None = None) -> "Key":
        kdf = dict(kdf or default_kdf())
        salt = os.urandom(16)
        return cls(kdf, salt, _derive(passphrase, kdf, salt))

    @classmethod
    def for_header(cls, passphrase: str, header: dict) -> "Key":
        salt = _b64d(header["salt"])
        key = cls(header["kdf"], salt, _derive(passphrase, header["kdf"], salt))
        if not hmac.compare_digest(key.check, _b64d(header["check"])):
            raise WrongPassphrase("wrong passphrase: the file was not opened and nothing was changed "
                                  "(passphrases are case-sensitive; check the keyboard layout)")
        return key

    def verify(self, passphrase: str) -> bool:
        """True if ``passphrase`` derives this key (a full KDF run: as slow as opening the file)."""
        return hmac.compare_digest(Key(self.kdf, self.salt, _derive(passphrase, self.kdf, self.salt)).check,
                                   self.check)

    def matches(self, header: dict) -> bool:
        return (self.kdf == header.get("kdf") and self.salt == _b64d(header.get("salt", ""))
                and hmac.compare_digest(self.check, _b64d(header.get("check", ""))))

    def wipe(self) -> None:
        """Overwrite the key bytes (quick close); the Key cannot be used afterwards."""
        for i in range(len(self._aes)):
            self._aes[i] = 0
        self.check = b""

    @property
    def wiped(self) -> bool:
        return not self.check

    def encrypt(self, payload: bytes, kind: str) -> bytes:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if self.wiped:
            raise ProtectError("the key was dropped (quick close): open the protected file again")
        nonce = os.urandom(12)
        header = {"format_version": FORMAT_VERSION, "kind": kind, "cipher": "AES-256-GCM", "kdf": self.kdf,
                  "salt": _b64e(self.salt), "check": _b64e(self.check), "nonce": _b64e(nonce)}
        head = _head_bytes(header)
        return head + AESGCM(bytes(self._aes)).encrypt(nonce, payload, head)

    def decrypt(self, blob: bytes, header: dict, head_len: int, where: str) -> bytes:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            return AESGCM(bytes(self._aes)).decrypt(_b64d(header["nonce"]), blob[head_len:], blob[:head_len])
        except (InvalidTag, ValueError, KeyError):
            raise DamagedFile(f"{where}: the file was altered or damaged after it was saved (its authentication "
                              "check failed); it was not opened and nothing was changed: use a backup copy") from None


def _b64e(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _head_bytes(header: dict) -> bytes:
    text = json.dumps(header, sort_keys=True).encode("utf-8")
    return MAGIC + struct.pack(">I", len(text)) + text


def is_protected(path) -> bool:
    """True if ``path`` is a regular file starting with this format's magic bytes (any kind).
    Anything else (missing, a FIFO that would block the read, a device) is not protected: the
    caller's own checks then say what is wrong with it."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as fh:
            return fh.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def read_header(blob: bytes, where: str = "file") -> tuple[dict, int]:
    """The clear header (no secrets in it) and its length in bytes; DamagedFile if unreadable."""
    if not blob.startswith(MAGIC):
        raise ProtectError(f"{where}: not a protected coverage-app file")
    try:
        (n,) = struct.unpack(">I", blob[len(MAGIC):len(MAGIC) + 4])
        start = len(MAGIC) + 4
        header = json.loads(blob[start:start + n].decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError
    except (struct.error, ValueError, UnicodeDecodeError):
        raise DamagedFile(f"{where}: the protected file's header is damaged; it was not opened and nothing "
                          "was changed: use a backup copy") from None
    version = header.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ProtectError(f"{where}: written by a newer version of the app (protected format {version}, this "
                           f"app reads up to {FORMAT_VERSION}); update the app to open it")
    for name in ("kdf", "salt", "check", "nonce"):
        if name not in header:
            raise DamagedFile(f"{where}: the protected file's header is damaged (no {name}); nothing was changed")
    return header, start + n


def decrypt_bytes(blob: bytes, secret, where: str = "file", kind: str | None = None) -> tuple[bytes, Key]:
    """Decrypt with a passphrase (str) or a :class:`Key`; returns (payload, key)."""
    header, head_len = read_header(blob, where)
    if kind is not None and header.get("kind") != kind:
        raise ProtectError(f"{where}: a protected {header.get('kind')}, not a protected {kind}")
    try:
        if isinstance(secret, Key):
            if not secret.matches(header):
                raise WrongPassphrase(f"{where}: protected with another passphrase; nothing was changed")
            key = secret
        else:
            key = Key.for_header(secret or "", header)
    except WrongPassphrase as exc:
        msg = str(exc)
        raise WrongPassphrase(msg if msg.startswith(where) else f"{where}: {msg}") from None
    except (KeyError, TypeError, ValueError):
        raise DamagedFile(f"{where}: the protected file's header is damaged; nothing was changed") from None
    return key.decrypt(blob, header, head_len, where), key


def write_bytes_atomic(target, data: bytes) -> Path:
    target = Path(target)
    try:
        with atomic_path(target) as tmp:
            with open(tmp, "wb") as fh:
                fh.write(data)
    except OSError as exc:
        raise ProjectError(f"{target}: could not be written ({exc.strerror or exc}); the previous file is "
                           "unchanged") from None
    return target


# -- layers ---------------------------------------------------------------------------------

def is_sensitive(ref: LayerRef) -> bool:
    """Facilities, and any vector layer the user marked sensitive (``options["sensitive"]``)."""
    if ref.role in ROLES and ROLES[ref.role].raster:
        return False
    return ref.role in SENSITIVE_ROLES or bool(ref.options.get("sensitive")) or bool(ref.options.get("embedded"))


def gpkg_bytes(frame, layer: str = "data") -> bytes:
    """A GeoDataFrame as GeoPackage bytes (pyogrio writes through /vsimem/, no file on disk)."""
    import pyogrio

    buf = io.BytesIO()
    pyogrio.write_dataframe(frame, buf, driver="GPKG", layer=layer)
    return buf.getvalue()


def read_gpkg_bytes(data: bytes, layer: str = "data"):
    import pyogrio

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "non conformant file extension" for the /vsimem/ name
        return pyogrio.read_dataframe(io.BytesIO(data), layer=layer, on_invalid="ignore")


def _layer_copy(ref: LayerRef, project: Project) -> bytes:
    member = ref.options.get("embedded")
    if member and member in project.embedded:
        return project.embedded[member]
    from coverage_app.core.data.layers import read_vector

    frame = read_vector(ref.path, ref.layer)
    if frame.attrs.get("csv_points") and frame.crs is None:
        frame = frame.set_crs(4326)
    frame.attrs.clear()
    return gpkg_bytes(frame)


# -- projects -------------------------------------------------------------------------------

def project_payload(project: Project, target: Path, extra: dict | None = None) -> bytes:
    """The zip (in memory) of project.json and copies of the sensitive layers."""
    base = Path(target).parent.resolve()
    doc = project.to_dict(base=base, allow_embedded=True)
    members: dict[str, bytes] = {}
    for i, (ref, entry) in enumerate(zip(project.layers, doc["layers"])):
        if not is_sensitive(ref):
            continue
        member = f"layers/{i}.gpkg"
        members[member] = _layer_copy(ref, project)
        entry["path"] = member
        entry["layer"] = "data"
        entry["options"] = {**entry.get("options", {}), "embedded": member, "sensitive": True,
                            "source_layer": ref.options.get("source_layer") or ref.layer}
    if extra:
        doc["autosave"] = extra
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.json", json.dumps(doc, ensure_ascii=False, indent=1))
        for member, data in members.items():
            zf.writestr(member, data)
    return buf.getvalue()


def save_protected(project: Project, path=None, key: Key | None = None, passphrase: str | None = None) -> Path:
    """Write ``project`` encrypted to ``path`` (default: its own path) and make it the protected project.

    ``key`` (or a new key from ``passphrase``; else the project's own key). Afterwards the
    project's sensitive layers are read from the protected copies held in memory.
    """
    payload, target, key = write_protected(project, path, key=key, passphrase=passphrase)
    adopt(project, payload, target, key)
    return target


def write_protected(project: Project, path=None, key: Key | None = None,
                    passphrase: str | None = None) -> tuple[bytes, Path, Key]:
    """The slow half of :func:`save_protected` (key derivation, layer copies, encryption, write).

    Only reads ``project``, so the app runs it on a worker thread; returns the clear
    payload, the target and the key for :func:`adopt` (run on the thread that owns the project).
    """
    target = Path(path or project.path or "")
    if not str(target) or target == Path("."):
        raise ProjectError("the project has no file yet: choose where to save it")
    if key is None:
        key = Key.new(passphrase) if passphrase is not None else project.protection
    if key is None:
        raise ProtectError("a passphrase is needed to save a protected project")
    payload = project_payload(project, target)
    write_bytes_atomic(target, key.encrypt(payload, "project"))
    runcache.clear()  # no clear copy of a layer now kept encrypted stays in the cache of earlier runs
    return payload, target, key


def adopt(project: Project, payload: bytes, target: Path, key: Key) -> None:
    """Point the in-memory project at its protected copies (as if just opened from ``target``)."""
    with zipfile.ZipFile(io.BytesIO(payload)) as zf:
        embedded = {name: zf.read(name) for name in zf.namelist() if name.startswith("layers/")}
    doc = json.loads(zipfile.ZipFile(io.BytesIO(payload)).read("project.json"))
    for ref, entry in zip(project.layers, doc["layers"]):
        member = (entry.get("options") or {}).get("embedded")
        if member:
            ref.options = dict(entry["options"])
            ref.layer = "data"
            ref.path = str(target)
    project.embedded = embedded
    project.protection = key
    project.path = target


def open_project(path, secret=None) -> Project:
    """Any project file: plain (.covproj) or protected (passphrase or Key needed)."""
    if is_protected(path):
        if secret is None:
            from coverage_app.core.data.project import load_project

            return load_project(path)  # raises NeedsPassphrase
        return load_protected(path, secret)
    from coverage_app.core.data.project import load_project

    return load_project(path)


def load_protected(path, secret) -> Project:
    """Open a protected project with a passphrase or Key; raises ProtectError, changes nothing."""
    path = Path(path)
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise ProjectError(f"{path}: project file not found") from None
    except OSError as exc:
        raise ProjectError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    payload, key = decrypt_bytes(blob, secret, str(path), kind="project")
    return project_from_payload(payload, path, key)


def project_from_payload(payload: bytes, path: Path, key: Key) -> Project:
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as zf:
            doc = json.loads(zf.read("project.json").decode("utf-8"))
            embedded = {name: zf.read(name) for name in zf.namelist() if name.startswith("layers/")}
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DamagedFile(f"{path}: the protected project's content is damaged ({exc}); nothing was changed") from None
    if doc.get("format") != PROJECT_FORMAT or not isinstance(doc.get("version"), int) \
            or doc["version"] > PROJECT_VERSION:
        raise ProtectError(f"{path}: the protected content is not a project this app can read")
    project = Project.from_dict(doc, base=path.parent.resolve(), path=path)
    for ref in project.layers:
        if ref.options.get("embedded"):
            ref.path = str(path)
    project.embedded = embedded
    project.protection = key
    project.autosave_meta = doc.get("autosave") or {}
    return project


def embedded_frame(ref: LayerRef, project: Project):
    """The raw (file-field) frame of an embedded layer; InputError if the copy is missing."""
    from coverage_app.core.errors import InputError, Problem

    member = ref.options.get("embedded")
    data = project.embedded.get(member)
    if data is None:
        raise InputError(Problem("error", "its protected copy is not in the project file (or was dropped by a "
                                 "quick close): open the protected project again", file=ref.path, layer=ref.name))
    return read_gpkg_bytes(data)


def drop_secrets(project: Project | None) -> None:
    """Quick close: forget the protected copies and wipe the key of ``project``."""
    if project is None:
        return
    project.embedded.clear()
    if project.protection is not None:
        project.protection.wipe()
    project.protection = None


# -- export archives ------------------------------------------------------------------------

def encrypt_folder(folder, out, key: Key) -> Path:
    """Zip every file of ``folder`` in memory, encrypt it with ``key`` and write ``out`` atomically."""
    folder = Path(folder)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            zf.write(file, file.relative_to(folder).as_posix())
    return write_bytes_atomic(out, key.encrypt(buf.getvalue(), "archive"))


def encrypt_files(files: dict[str, bytes], out, key: Key) -> Path:
    """Encrypt in-memory files ({name: bytes}) as an archive (nothing written in clear)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return write_bytes_atomic(out, key.encrypt(buf.getvalue(), "archive"))


def decrypt_archive(path, out_dir, secret) -> list[Path]:
    """Decrypt an export archive into ``out_dir``; returns the files written."""
    path = Path(path)
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise ProjectError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    payload, _ = decrypt_bytes(blob, secret, str(path), kind="archive")
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProjectError(f"{out_dir}: cannot be used as the folder to decrypt into ({exc.strerror or exc}); "
                           "choose a folder (new or existing)") from None
    written = []
    with zipfile.ZipFile(io.BytesIO(payload)) as zf:
        for info in zf.infolist():
            target = (out_dir / info.filename).resolve()
            if out_dir.resolve() not in target.parents:  # never write outside the folder
                raise DamagedFile(f"{path}: the archive names a file outside its folder ({info.filename})")
            if info.is_dir():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(target, zf.read(info))
            written.append(target)
    return written


def passphrase_problem(passphrase: str) -> str | None:
    """Why a new passphrase is too weak, or None. Long beats clever: 12+ characters."""
    if len(passphrase) < PASSPHRASE_MIN_CHARS:
        return (f"use at least {PASSPHRASE_MIN_CHARS} characters: four or five unrelated words are easy to "
                "remember and hard to guess")
    if len(set(passphrase)) < 5:
        return "use more different characters (a few unrelated words)"
    return None
