"""Writing outputs without ever losing a file of the user's.

A single file appears whole or not at all (:func:`atomic_path`). An output folder is built
beside its destination and swapped in whole (:func:`output_dir`); the tool records what it
wrote in a manifest inside it, and on the next run replaces only the files that manifest
names: anything else in the folder survives. Files and folders get the modes the umask
allows, as any other program's.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from bmru_pdk.errors import BmruError

MANIFEST = "bmru-manifest.json"
_MANIFEST_FORMAT = "bmru-output-manifest"
_UMASK_LOCK = threading.Lock()
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# a temporary file or folder of this module: ".<name>.<random>.part" beside <name>
_PART = re.compile(r"^\.(.+)\.[^.]+\.part$")


class OutputFolderError(BmruError):
    """An output folder that the tool must not replace (it holds the user's files)."""


def _umask() -> int:
    with _UMASK_LOCK:  # reading the umask means setting it: keep other threads out
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _chmod_default(path: Path, directory: bool) -> None:
    """Give ``path`` the mode an ordinary ``open``/``mkdir`` would (tempfile uses 0600/0700)."""
    path.chmod((0o777 if directory else 0o666) & ~_umask())


def destination(path: str | os.PathLike[str]) -> Path:
    """Where ``path`` is going when it lies in a temporary file or folder of this module
    (``out/.tile.x1y2.part/a.gds`` -> ``out/tile/a.gds``): the name a user knows."""
    return Path(*(m.group(1) if (m := _PART.match(part)) else part
                  for part in Path(path).parts))


@contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM while the block runs, then act on them as before.

    For a folder swap or a clean-up, which must not be cut in half, and for a call into a
    library that calls back into Python (ngspice's output, KLayout's netlist delegates): the
    exception of a signal handler raised in such a callback is swallowed or turned into
    the library's own error. Python runs handlers in the main thread only, so elsewhere
    there is nothing to hold.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    saved = {sig: signal.signal(sig, lambda n, _: held.append(n))
             for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        if held:
            signal.raise_signal(held[0])


def _name_the_place(exc: OSError, path: Path) -> None:
    """Give ``exc`` the file or folder being written when it names none: a failed
    ``write()`` (disk full, file too large) does not say where."""
    if exc.filename is None:
        exc.filename = str(path)


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    Whatever ends the block (an error, Ctrl-C, SIGTERM under ``bmru``), the temporary file
    is gone afterwards and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path: Path | None = None
    try:
        with signals_held():  # a file made is a file known, to be removed
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
            tmp_path = Path(tmp)
            os.close(fd)
        yield tmp_path
        if tmp_path.exists():
            _chmod_default(tmp_path, directory=False)
        tmp_path.replace(path)
    except OSError as exc:
        _name_the_place(exc, path)
        raise
    finally:
        if tmp_path is not None:
            with signals_held():
                tmp_path.unlink(missing_ok=True)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(root: Path) -> list[str]:
    """Every file below ``root`` (symlinks as files), relative, in POSIX form."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() or p.is_symlink())


def read_manifest(folder: Path) -> dict[str, str] | None:
    """The files (relative path -> SHA-256) the tool wrote into ``folder``; ``None`` when
    ``folder`` holds no manifest.

    Raises:
        OutputFolderError: The manifest is damaged: not JSON, not this tool's, or naming a
            file outside the folder or without its SHA-256.
    """
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text())
    except (UnicodeDecodeError, ValueError) as exc:
        raise _damaged(path, f"it is not JSON ({exc})") from None
    ours = isinstance(raw, dict) and raw.get("format") == _MANIFEST_FORMAT
    files = raw.get("files") if ours else None
    if not isinstance(files, dict):
        raise _damaged(path, f"it is not a {_MANIFEST_FORMAT} with a table of files")
    for name, digest in files.items():
        rel = PurePosixPath(name)
        if not name or rel.is_absolute() or ".." in rel.parts:
            raise _damaged(path, f"it names {name!r}, which is not a file inside the folder")
        if not isinstance(digest, str) or not _SHA256.match(digest):
            raise _damaged(path, f"its entry {name!r} has no SHA-256")
    return files


def _damaged(manifest: Path, why: str) -> OutputFolderError:
    """The refusal of a damaged ``manifest``, saying ``why``."""
    return OutputFolderError(f"{manifest} is damaged: {why}; move it away, or give --force "
                             "to write beside the folder's files (none is removed)")


def _refuse_special(path: Path) -> None:
    """Refuse the working directory, the home folder, the root and their parents."""
    where = path.resolve()
    cwd, home = Path.cwd().resolve(), Path.home().resolve()
    if where == cwd or where in cwd.parents:
        raise OutputFolderError(
            f"output folder {path} is the working directory or one of its parents; "
            "give a new folder, e.g. -o build/out")
    if where == home or where in home.parents:
        raise OutputFolderError(
            f"output folder {path} is the home folder or one of its parents; "
            "give a new folder, e.g. -o build/out")


def _check_replaceable(path: Path, force: bool) -> tuple[dict[str, str], list[str]]:
    """The manifest of ``path`` and the files in it the tool did not write (kept).

    Raises:
        OutputFolderError: ``path`` is a file; without ``force``, holds files the tool did
            not write, a file the tool wrote that was changed since, or a damaged manifest.
    """
    if not path.exists():
        return {}, []
    if not path.is_dir():
        raise OutputFolderError(f"output folder {path} is an existing file; give a folder")
    try:
        manifest = read_manifest(path) or {}
    except OutputFolderError:
        if not force:
            raise
        manifest = {}  # a damaged manifest vouches for nothing: every file is kept
    present = [f for f in _files(path) if f != MANIFEST]
    foreign = [f for f in present if f not in manifest]
    if foreign and not manifest and not force:
        raise OutputFolderError(
            f"output folder {path} holds files bmru did not write ({foreign[0]}"
            f"{f' and {len(foreign) - 1} more' if len(foreign) > 1 else ''}); "
            "give a new folder, or --force to write beside them (they are never removed)")
    if not force:
        for f in present:
            if f in manifest and _digest(path / f) != manifest[f]:
                raise OutputFolderError(
                    f"{path / f} was changed since bmru wrote it; move it away, or give "
                    "--force to replace it")
    return manifest, foreign


def _link_tree(src: Path, dst: Path, names: list[str], ours: dict[str, str]) -> None:
    """Hard-link the files ``names`` of ``src`` into ``dst`` (same file system): the user's
    files appear in the new folder without a copy and without leaving the old one. Folders
    holding none of the tool's files (``ours``), empty ones included, are the user's too."""
    mine = {parent.as_posix() for f in ours for parent in Path(f).parents}
    for folder in src.rglob("*"):
        rel = folder.relative_to(src).as_posix()
        if folder.is_dir() and not folder.is_symlink() and rel not in mine:
            (dst / rel).mkdir(parents=True, exist_ok=True)
    for name in names:
        target = dst / name
        target.parent.mkdir(parents=True, exist_ok=True)
        source = src / name
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            os.link(source, target)


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux ``renameat2``); ``False`` where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    return rc == 0


def _write_manifest(folder: Path, keep: list[str]) -> None:
    files = {f: _digest(folder / f) for f in _files(folder) if f != MANIFEST and f not in keep}
    text = json.dumps({"format": _MANIFEST_FORMAT, "files": files}, indent=1) + "\n"
    (folder / MANIFEST).write_text(text)


def check_output_dir(path: str | os.PathLike[str], force: bool = False) -> None:
    """Refuse ``path`` as an output folder now, as :func:`output_dir` would, before a long
    job starts.

    Raises:
        OutputFolderError: See :func:`output_dir`.
    """
    _refuse_special(Path(path))
    _check_replaceable(Path(path), force)


@contextmanager
def output_dir(path: str | os.PathLike[str], force: bool = False) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; on success it becomes ``path``.

    ``path`` may be new, empty, or a folder this tool wrote (its manifest names the files it
    wrote): then only those files are replaced and every other file in it is kept. Killed at
    any moment, ``path`` holds the previous complete output or the new one; ended by an
    error, Ctrl-C or SIGTERM, the temporary folder is removed too (the swap and the
    clean-up hold those signals until they are done).

    Args:
        path: The output folder.
        force: Also write into a folder holding files the tool did not write, and replace
            tool-written files changed since; files the manifest does not name are still
            never removed or changed.

    Raises:
        OutputFolderError: ``path`` is the working directory, the home folder, a parent of
            either, a file, or (without ``force``) holds files the tool did not write or a
            damaged manifest.
    """
    path = Path(path)
    check_output_dir(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp: Path | None = None
    try:
        with signals_held():  # a folder made is a folder known, to be removed
            tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part",
                                        dir=path.parent))
        _chmod_default(tmp, directory=True)
        yield tmp
        # checked again: the folder may have changed while the job ran
        manifest, keep = _check_replaceable(path, force)
        clash = [f for f in keep if (tmp / f).exists() or (tmp / f).is_symlink()]
        if clash:
            raise OutputFolderError(
                f"{path / clash[0]} is not bmru's and would be overwritten; move it away")
        _write_manifest(tmp, [])
        if not path.exists():
            tmp.rename(path)
            return
        _link_tree(path, tmp, keep, manifest)
        with signals_held():
            if not _exchange(tmp, path):
                # no atomic swap here: the old output steps aside for an instant
                old = tmp.with_suffix(".old")
                path.rename(old)
                tmp.rename(path)
                tmp = old
    except OSError as exc:
        _name_the_place(exc, path)
        raise
    finally:
        if tmp is not None:
            with signals_held():
                shutil.rmtree(tmp, ignore_errors=True)
