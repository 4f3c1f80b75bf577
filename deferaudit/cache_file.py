"""Cache files that can be trusted: sealed with a per-user key, loaded without running code.

The threat (docs/security.md): the cache folder usually lives in the checkout that
``deferaudit check`` gates, so anyone who can open a pull request can put a file there. A file
is therefore loaded only when

1. its HMAC-SHA256, computed with a key that lives outside the working tree (one per user, in
   the user's cache directory, mode 0600), matches: a planted, copied, truncated or corrupt file
   is ignored and rebuilt before a single byte of it is unpickled; and
2. its payload unpickles through ``SafeUnpickler``, which resolves only deferaudit's own frozen
   dataclasses, named tuples and enums (plus ``frozenset``/``set``) and refuses every other
   global, so even a file sealed with a stolen key cannot name ``os.system``.

Pickle stays for speed: a warm scan of 10,000 files loads its outcomes in a fraction of a
second, which a JSON or msgpack round trip through dataclasses cannot match (see the benchmark
figures in docs/security.md).
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import hashlib
import hmac
import io
import os
import pickle
import secrets
import stat
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from deferaudit.atomic_file import replace_file

__all__ = [
    "CacheKey",
    "KeyUnavailable",
    "SafeUnpickler",
    "UnsafeCacheFile",
    "default_key_file",
    "load_key",
    "read_sealed",
    "safe_loads",
    "write_sealed",
]

MAGIC = b"deferaudit-cache\x01"
_TAG = hashlib.sha256().digest_size
_KEY_BYTES = 32
KEY_FILE_ENV = "DEFERAUDIT_KEY_FILE"


class KeyUnavailable(Exception):
    """No trustworthy key: the cache is neither read nor written this run."""


class UnsafeCacheFile(pickle.UnpicklingError):
    """A cache payload names something the allowlist does not hold."""


@dataclass(frozen=True)
class CacheKey:
    """The secret that seals this user's cache files, and where it lives."""

    secret: bytes
    file: Path

    def mac(self, purpose: str) -> hmac.HMAC:
        """An HMAC-SHA256 over MAGIC and the file's purpose, to be fed the payload."""
        mac = hmac.new(self.secret, MAGIC, hashlib.sha256)
        mac.update(purpose.encode("utf-8", "surrogatepass") + b"\0")
        return mac

    def tag(self, purpose: str, payload: bytes) -> bytes:
        mac = self.mac(purpose)
        mac.update(payload)
        return mac.digest()


def default_key_file(environ: dict[str, str] | None = None) -> Path:
    """``$DEFERAUDIT_KEY_FILE``, else ``deferaudit/cache-key`` in the user's cache directory
    (``$XDG_CACHE_HOME``, ``~/.cache``; ``%LOCALAPPDATA%`` on Windows)."""
    env = os.environ if environ is None else environ
    if env.get(KEY_FILE_ENV):
        return Path(env[KEY_FILE_ENV]).expanduser()
    if sys.platform == "win32" and env.get("LOCALAPPDATA"):
        base = Path(env["LOCALAPPDATA"])
    elif env.get("XDG_CACHE_HOME"):
        base = Path(env["XDG_CACHE_HOME"]).expanduser()
    else:
        base = Path.home() / ".cache"
    return base / "deferaudit" / "cache-key"


def load_key(file: Path | None = None, *, forbidden: Iterable[Path] = ()) -> CacheKey:
    """This user's key, created on first use; raises KeyUnavailable with the reason.

    A key inside ``forbidden`` (the scanned tree, the cache folder) is refused: whoever wrote
    that tree could have written the key too.
    """
    file = file or default_key_file()
    try:
        resolved = file.resolve()
    except (OSError, RuntimeError) as exc:
        raise KeyUnavailable(f"cache key {file}: {exc}") from None
    for root in forbidden:
        with contextlib.suppress(OSError, RuntimeError):
            if resolved.is_relative_to(root.resolve()):
                raise KeyUnavailable(
                    f"cache key {file} lies inside {root}, which the scanned repository controls"
                )
    try:
        return CacheKey(_read_key(file), file)
    except FileNotFoundError:
        pass
    _create_key(file)
    try:
        return CacheKey(_read_key(file), file)
    except FileNotFoundError:
        raise KeyUnavailable(f"cache key {file}: vanished after it was created") from None


def _read_key(file: Path) -> bytes:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(file, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:  # ELOOP: a symbolic link where the key should be
        raise KeyUnavailable(f"cache key {file}: cannot open: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise KeyUnavailable(f"cache key {file}: not a regular file")
        if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
            raise KeyUnavailable(f"cache key {file}: owned by another user")
        if os.name == "posix" and info.st_mode & 0o077:
            raise KeyUnavailable(
                f"cache key {file}: readable or writable by others (mode "
                f"{stat.S_IMODE(info.st_mode):o}); remove it to get a new one"
            )
        secret = handle.read(_KEY_BYTES + 1)
    if len(secret) != _KEY_BYTES:
        raise KeyUnavailable(f"cache key {file}: not a deferaudit key; remove it to get a new one")
    return secret


def _create_key(file: Path) -> None:
    """Write a fresh key so that a racing process either sees the whole key or none."""
    try:
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".cache-key-")
    except OSError as exc:
        raise KeyUnavailable(f"cache key {file}: cannot create: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(_KEY_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            # link() fails when the name exists: the first writer's key wins, never replaced.
            os.link(tmp, file)
        except FileExistsError:
            pass
        except OSError:
            with contextlib.suppress(FileExistsError):
                fd2 = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd2, "wb") as out, open(tmp, "rb") as src:
                    out.write(src.read())
    except OSError as exc:
        raise KeyUnavailable(f"cache key {file}: cannot create: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


# ----------------------------------------------------------------------------- unpickling

_BUILTINS: dict[tuple[str, str], type] = {
    ("builtins", "frozenset"): frozenset,
    ("builtins", "set"): set,
}
_REFUSED_HOOKS = ("__reduce__", "__reduce_ex__", "__setstate__", "__new__", "__getnewargs__")


def _allowed(module: str, name: str) -> Any:
    """The class ``module.name`` if it is one of deferaudit's own plain value types, else None.

    Only modules already imported are consulted (a lookup never imports anything), and only
    frozen dataclasses, named tuples and enums whose pickling is the default one: loading such
    an object sets its fields and calls no code of the class.
    """
    if (module, name) in _BUILTINS:
        return _BUILTINS[module, name]
    if not (module == "deferaudit" or module.startswith(("deferaudit.", "codemods."))):
        return None
    owner = sys.modules.get(module)
    if owner is None or "." in name:
        return None
    cls = owner.__dict__.get(name)
    if not isinstance(cls, type) or cls.__module__ != module:
        return None
    if issubclass(cls, enum.Enum):
        return cls
    if dataclasses.is_dataclass(cls):
        if not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
            return None
        own = {k for base in cls.__mro__[:-1] for k in vars(base)}
        if own.intersection(_REFUSED_HOOKS) - _slots_hooks(cls):
            return None
        return cls
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        # A named tuple: rebuilt by tuple.__new__ through its generated __new__/__getnewargs__.
        if any(h in vars(cls) for h in ("__reduce__", "__reduce_ex__", "__setstate__")):
            return None
        return cls
    return None


def _slots_hooks(cls: type) -> set[str]:
    # dataclass(slots=True) adds __getstate__/__setstate__ that only set the fields.
    return {"__setstate__"} if "__slots__" in vars(cls) else set()


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that resolves only deferaudit's own value types (``_allowed``)."""

    def find_class(self, module: str, name: str) -> Any:
        cls = _allowed(module, name)
        if cls is None:
            raise UnsafeCacheFile(f"cache payload names {module}.{name}, which is not allowed")
        return cls


def safe_loads(payload: bytes) -> Any:
    return SafeUnpickler(io.BytesIO(payload)).load()


# ----------------------------------------------------------------------------- files


def read_sealed(file: Path, key: CacheKey, purpose: str) -> tuple[Any, str | None]:
    """(value, None) from a sealed file, or (None, why it was not used).

    A missing file is a plain miss (no reason); anything else that stops the load is a reason
    for ``--verbose``, never an exception.
    """
    try:
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"{file}: cannot read ({exc.strerror or exc}); rebuilt"
    try:
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None, f"{file}: not a regular file; ignored"
            return _load_verified(handle, file, key, purpose)
    except OSError as exc:
        return None, f"{file}: cannot read ({exc.strerror or exc}); rebuilt"


def _load_verified(
    handle: BinaryIO, file: Path, key: CacheKey, purpose: str
) -> tuple[Any, str | None]:
    """Check the seal over the whole file, then unpickle from the same open file.

    Two passes over one descriptor: the payload is never held whole in memory (a warm scan's
    stores are tens of megabytes), and what is unpickled is exactly what was checked (writers
    replace the file by rename, which never changes an open file's contents).
    """
    head = handle.read(len(MAGIC) + _TAG)
    if len(head) < len(MAGIC) + _TAG or not head.startswith(MAGIC):
        return None, f"{file}: not a sealed deferaudit cache file (planted or old); rebuilt"
    mac = key.mac(purpose)
    for chunk in iter(lambda: handle.read(1 << 20), b""):
        mac.update(chunk)
    if not hmac.compare_digest(head[len(MAGIC) :], mac.digest()):
        return (
            None,
            f"{file}: its seal does not match this user's key (written elsewhere, planted, "
            "truncated or corrupt); rebuilt",
        )
    handle.seek(len(MAGIC) + _TAG)
    try:
        return SafeUnpickler(handle).load(), None
    except Exception as exc:  # a sealed file of an older layout: never worth a crash
        return None, f"{file}: cannot be loaded ({type(exc).__name__}: {exc}); rebuilt"


def write_sealed(file: Path, key: CacheKey, purpose: str, value: Any) -> str | None:
    """Seal and write atomically; returns why it was not written (a cache only costs speed)."""
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)

    def write(handle: BinaryIO) -> None:
        handle.write(MAGIC)
        handle.write(key.tag(purpose, payload))
        handle.write(payload)

    try:
        replace_file(file, write)
    except OSError as exc:
        return f"{file}: cannot write ({exc.strerror or exc})"
    return None


def prepare_folder(folder: Path) -> str | None:
    """Create the cache folder with its ``.gitignore``; returns why it cannot be used.

    A folder (or ``.gitignore``) that is a symbolic link is refused: a planted link would make
    deferaudit write wherever it points.
    """
    try:
        if folder.is_symlink():
            return f"{folder}: the cache folder is a symbolic link; not used"
        folder.mkdir(parents=True, exist_ok=True)
        gitignore = folder / ".gitignore"
        if gitignore.is_symlink():
            return f"{gitignore}: a symbolic link in the cache folder; the cache is not used"
        if not gitignore.exists():
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            with contextlib.suppress(FileExistsError):
                fd = os.open(gitignore, flags, 0o644)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write("# Created by deferaudit.\n*\n")
    except OSError as exc:
        return f"{folder}: cannot create the cache folder ({exc.strerror or exc})"
    return None
