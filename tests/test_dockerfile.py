"""What can be checked of the Dockerfile without a Docker engine: the files it copies exist, the
command it runs is the project's console script with a real subcommand, and the data the image
needs ships with the package."""

from __future__ import annotations

import shlex
import tomllib
from pathlib import Path

from bot.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def _instructions(name: str) -> list[str]:
    return [line.split(maxsplit=1)[1] for line in DOCKERFILE.splitlines() if line.startswith(f"{name} ")]


def test_every_copied_path_exists() -> None:
    for args in _instructions("COPY"):
        *sources, _target = shlex.split(args)
        for source in sources:
            assert (ROOT / source).exists(), source


def test_the_command_is_the_console_script_with_a_real_subcommand() -> None:
    (cmd,) = _instructions("CMD")
    program, *argv = __import__("json").loads(cmd)
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert program in scripts
    assert build_parser().parse_args(argv).command == "run"


def test_runs_as_a_non_root_user_with_the_database_on_a_volume() -> None:
    (user,) = _instructions("USER")
    assert user != "root"
    assert any("DATABASE_PATH=/data/" in env for env in _instructions("ENV"))
    assert _instructions("VOLUME")


def test_the_data_the_image_needs_ships_with_the_packages() -> None:
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"
    ]
    for package, patterns in (
        ("knowledge", package_data["knowledge"]),
        ("eligibility", package_data["eligibility"]),
        ("locales", package_data["locales"]),
    ):
        for pattern in patterns:
            assert list((ROOT / package).glob(pattern)), (package, pattern)
