"""``corral aws-models install``: the two 1-Click models for today's aws CLI and boto3.

botocore 1.35.93 is the last release that ships ``iot1click-devices`` and ``iot1click-projects``; today's
aws CLI (which carries its own botocore) and boto3 load extra models from ``~/.aws/models`` or from the
folders in ``AWS_DATA_PATH``. This downloads that release's wheel with pip (no dependencies; kept in a
cache), and writes each service's ``service-2.json``, ``paginators-1.json`` and ``endpoint-rule-set-1.json``
uncompressed under ``{target}/{service}/2018-05-14/``. These are AWS's own files, fetched on the user's
machine; Corral's server answers from its own declaration in ``models/``.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
import zipfile
from pathlib import Path

from corral.oneclick import API_VERSION, DEVICES_SERVICE, PROJECTS_SERVICE

BOTOCORE_RELEASE = "1.35.93"
SERVICES = (DEVICES_SERVICE, PROJECTS_SERVICE)
FILES = ("service-2.json", "paginators-1.json", "endpoint-rule-set-1.json")
USER_MODELS = Path.home() / ".aws" / "models"


class ModelsError(Exception):
    pass


def wheel(cache_dir: Path) -> Path:
    """botocore's wheel, downloaded by pip into ``cache_dir`` unless it is already there."""
    name = f"botocore-{BOTOCORE_RELEASE}-py3-none-any.whl"
    path = cache_dir / name
    if path.is_file():
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
        "--dest", str(cache_dir), f"botocore=={BOTOCORE_RELEASE}",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not path.is_file():
        raise ModelsError(f"pip could not download botocore {BOTOCORE_RELEASE}:\n{done.stderr.strip()}")
    return path


def install(target: Path, cache_dir: Path) -> list[Path]:
    """Writes the two services' model files under ``target``; returns the paths written."""
    written: list[Path] = []
    with zipfile.ZipFile(wheel(cache_dir)) as archive:
        names = set(archive.namelist())
        for service in SERVICES:
            folder = target / service / API_VERSION
            folder.mkdir(parents=True, exist_ok=True)
            for file in FILES:
                inside = f"botocore/data/{service}/{API_VERSION}/{file}"
                if inside in names:
                    data = archive.read(inside)
                elif inside + ".gz" in names:
                    data = gzip.decompress(archive.read(inside + ".gz"))
                elif file == "service-2.json":
                    raise ModelsError(f"botocore {BOTOCORE_RELEASE} has no {service} model")
                else:
                    continue
                (folder / file).write_bytes(data)
                written.append(folder / file)
    return written
