"""The Dockerfile and docker-compose.yml cannot be built here (no Docker engine), so read them: the worker image
is built from this repository the way the README says, and compose's services, ports and volumes are the ones
the README names."""

from __future__ import annotations

import re
import shlex
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PYTORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of each instruction, continuation lines joined and comments dropped."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = "\n".join(lines).replace("\\\n", "")
    return [(line.split()[0].upper(), line.split(None, 1)[1]) for line in joined.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def docker_section() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"### With Docker\n(.*?)\n## ", readme, flags=re.DOTALL)
    assert match, "README has no 'With Docker' section"
    return match.group(1)


def arguments(dockerfile: list[tuple[str, str]], instruction: str) -> list[str]:
    return [args for name, args in dockerfile if name == instruction]


def named_volumes(service: dict[str, Any]) -> dict[str, str]:
    """Volume name -> container path, for the service's named volumes (not bind mounts of ./ paths)."""
    found = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if not source.startswith((".", "/")):
            found[source] = target
    return found


def test_the_worker_is_built_from_the_dockerfile_in_the_repository(compose: dict[str, Any]) -> None:
    build = compose["services"]["worker"]["build"]
    assert (REPO / build["context"]).resolve() == REPO
    assert (REPO / build["context"] / build["dockerfile"]).is_file()


def test_the_image_is_python_slim_with_cpu_torch_and_the_package_installed(
    dockerfile: list[tuple[str, str]],
) -> None:
    assert arguments(dockerfile, "FROM") == ["python:3.11-slim"]
    [install] = [run for run in arguments(dockerfile, "RUN") if "pip install" in run]
    assert f"--extra-index-url {PYTORCH_CPU_INDEX}" in install and install.endswith(" .")
    for copied in arguments(dockerfile, "COPY"):
        *sources, _ = copied.split()
        assert all((REPO / source).exists() for source in sources), f"COPY {copied}: not in the repository"


def test_nothing_the_image_needs_is_left_out_of_the_build_context(dockerfile: list[tuple[str, str]]) -> None:
    ignored = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip()[:1] not in "#"
    }
    for copied in arguments(dockerfile, "COPY"):
        *sources, _ = copied.split()
        assert not set(sources) & ignored
    assert "README.md" in " ".join(arguments(dockerfile, "COPY")), "pyproject.toml reads README.md"


def test_the_model_is_distilled_at_build_time_for_the_preset_the_worker_runs(
    dockerfile: list[tuple[str, str]], compose: dict[str, Any]
) -> None:
    [prepare] = [shlex.split(run) for run in arguments(dockerfile, "RUN") if "config prepare" in run]
    assert prepare[:3] == ["streamclust", "config", "prepare"]
    worker_command = shlex.split(compose["services"]["worker"]["command"])
    assert worker_command[0] == "run"
    assert worker_command[worker_command.index("--config") + 1] == prepare[prepare.index("--config") + 1]
    steps = [name for name, _ in dockerfile]
    assert steps.index("USER") < next(
        i for i, (name, args) in enumerate(dockerfile) if name == "RUN" and "config prepare" in args
    ), "the model is distilled as the user whose cache the worker reads"


def test_the_model_cache_volume_is_the_cache_of_the_container_user(
    dockerfile: list[tuple[str, str]], compose: dict[str, Any]
) -> None:
    [user] = arguments(dockerfile, "USER")
    [create_user] = [run for run in arguments(dockerfile, "RUN") if "useradd" in run]
    assert "--create-home" in create_user and create_user.split()[-1] == user
    cache = named_volumes(compose["services"]["worker"])["model-cache"]
    assert PurePosixPath(cache) == PurePosixPath("/home") / user / ".cache" / "streamclust"


def test_kafka_keeps_its_log_directory_in_a_named_volume(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    assert named_volumes(kafka)["kafka-data"] == kafka["environment"]["KAFKA_LOG_DIRS"]
    assert set(compose["volumes"]) == {"kafka-data", "model-cache"}


def test_the_entrypoint_and_the_compose_command_make_a_streamclust_command(
    dockerfile: list[tuple[str, str]], compose: dict[str, Any]
) -> None:
    from streamclust.cli import build_parser

    [entrypoint] = arguments(dockerfile, "ENTRYPOINT")
    assert yaml.safe_load(entrypoint) == ["streamclust"]
    [default_command] = arguments(dockerfile, "CMD")
    build_parser().parse_args(yaml.safe_load(default_command))
    build_parser().parse_args(shlex.split(compose["services"]["worker"]["command"]))


def test_the_exposed_port_is_the_workers_http_port(
    dockerfile: list[tuple[str, str]], compose: dict[str, Any]
) -> None:
    from streamclust.config import HttpSettings

    assert arguments(dockerfile, "EXPOSE") == [str(HttpSettings().port)]
    assert f"127.0.0.1:{HttpSettings().port}:{HttpSettings().port}" in compose["services"]["worker"]["ports"]


def test_the_readme_names_the_services_ports_and_volumes_compose_has(
    compose: dict[str, Any], docker_section: str
) -> None:
    services = compose["services"]
    for name in services:
        assert f"`{name}`" in docker_section, f"README's Docker section does not name the service {name}"
    published = {port.rsplit(":", 1)[0] for service in services.values() for port in service.get("ports", [])}
    mentioned = set(re.findall(r"127\.0\.0\.1:\d+", docker_section))
    assert mentioned == published
    for volume in compose["volumes"]:
        assert f"`{volume}`" in docker_section
    for phrase in ("python:3.11-slim", "pip install .", "`Dockerfile`", "docker compose up -d --build"):
        assert phrase in docker_section
