"""Deployment packages on disk: ``DATA_DIR/functions/{name}/{revision}/`` (unpacked) and ``{revision}.zip``.

A package is unpacked into a hidden temporary folder and renamed into place before the function's row in the
store points at it; the row is the commit point. So a crash leaves at worst a folder no row names, which
``cleanup`` removes at the next start: never half a function.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from corral.functions.errors import InvalidParameterValue

MAX_UNZIPPED_BYTES = 262_144_000
BAD_ZIP = "Could not unzip uploaded file. Please check your file, then try to upload again."


@dataclass(frozen=True, slots=True)
class Package:
    revision: str
    sha256: str  # base64, as CodeSha256
    size: int


class CodeStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, name: str, revision: str) -> Path:
        return self.root / name / revision

    def zip_file(self, name: str, revision: str) -> Path:
        return self.root / name / f"{revision}.zip"

    def unpack(self, name: str, data: bytes) -> Package:
        """Validates and unpacks ``data`` (a zip) as a new revision of ``name``. Blocking: run in a thread."""
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            members = archive.infolist()
        except (zipfile.BadZipFile, ValueError, OSError):
            raise InvalidParameterValue(BAD_ZIP) from None
        if sum(member.file_size for member in members) > MAX_UNZIPPED_BYTES:
            raise InvalidParameterValue(f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes")
        for member in members:
            path = PurePosixPath(member.filename)
            if path.is_absolute() or ".." in path.parts:
                raise InvalidParameterValue(BAD_ZIP)
        revision = uuid.uuid4().hex
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        staging = folder / f".tmp-{revision}"
        try:
            try:
                archive.extractall(staging)
            except (zipfile.BadZipFile, ValueError, OSError, EOFError):
                raise InvalidParameterValue(BAD_ZIP) from None
            for member in members:  # keep the executable bits a package carries
                mode = (member.external_attr >> 16) & 0o777
                if mode and not member.is_dir():
                    os.chmod(staging / member.filename, mode | 0o400)
            zip_staging = folder / f".tmp-{revision}.zip"
            with open(zip_staging, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(zip_staging, self.zip_file(name, revision))
            os.replace(staging, self.folder(name, revision))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            (folder / f".tmp-{revision}.zip").unlink(missing_ok=True)
        digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
        return Package(revision, digest, len(data))

    def discard(self, name: str, revision: str) -> None:
        shutil.rmtree(self.folder(name, revision), ignore_errors=True)
        self.zip_file(name, revision).unlink(missing_ok=True)

    def remove(self, name: str) -> None:
        shutil.rmtree(self.root / name, ignore_errors=True)

    def cleanup(self, current: dict[str, str]) -> None:
        """Removes every package that is not a function's current revision (``current``: name -> revision)."""
        if not self.root.is_dir():
            return
        for folder in self.root.iterdir():
            if folder.name.startswith(".") or not folder.is_dir():
                continue
            revision = current.get(folder.name)
            if revision is None:
                shutil.rmtree(folder, ignore_errors=True)
                continue
            for entry in folder.iterdir():
                if entry.name in (revision, f"{revision}.zip"):
                    continue
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
