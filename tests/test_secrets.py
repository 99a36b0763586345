"""Secrets are never printed: configuration errors, logs and reprs show ********** wherever the value came from."""

from __future__ import annotations

import json
import logging
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr

from streamclust.cli import main
from streamclust.config import Settings, load_settings
from streamclust.errors import ConfigError
from streamclust.obs.logs import JsonFormatter, PlainFormatter
from streamclust.redact import MASK, is_secret_name

PASSWORD = "hunter2-very-secret"


def config_error(text: str, tmp_path: Path) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return str(caught.value)


def test_the_cli_error_for_a_missing_sasl_username_does_not_print_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STREAMCLUST_KAFKA__SASL_PASSWORD", PASSWORD)
    monkeypatch.setenv("STREAMCLUST_KAFKA__SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("STREAMCLUST_KAFKA__SASL_MECHANISM", "PLAIN")
    source = tmp_path / "posts.jsonl"
    source.write_text('{"id": "1", "text": "hello"}\n')

    code = main(["cluster", str(source), "--quiet"])

    err = capsys.readouterr().err
    assert code == 2
    assert "sasl_username" in err and MASK in err
    assert PASSWORD not in err


@pytest.mark.parametrize(
    "text",
    [
        f"kafka: {{security_protocol: SASL_SSL, sasl_mechanism: PLAIN, sasl_password: {PASSWORD}}}\n",
        f"kafka: {{sasl_password: [{PASSWORD}]}}\n",  # a wrong type under the secret's own name
        f"kafka: {{sasl_pasword: {PASSWORD}}}\n",  # a misspelt key is still a secret
        f"kafka: {{api_token: {PASSWORD}}}\n",
        f"kafka:\n  sasl_password: {PASSWORD}\n  - not: yaml\n",  # YAML errors do not quote the file
    ],
)
def test_configuration_errors_mask_secrets_from_a_file(text: str, tmp_path: Path) -> None:
    message = config_error(text, tmp_path)
    assert PASSWORD not in message


def test_reprs_and_dumps_mask_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMCLUST_KAFKA__SASL_PASSWORD", PASSWORD)
    settings = load_settings()
    assert settings.kafka.sasl_password is not None
    assert settings.kafka.sasl_password.get_secret_value() == PASSWORD
    for shown in (repr(settings), str(settings), repr(settings.kafka), settings.model_dump_json()):
        assert PASSWORD not in shown
        assert MASK in shown


@pytest.mark.parametrize("formatter", [JsonFormatter(), PlainFormatter()])
def test_log_fields_with_secret_names_are_masked(formatter: logging.Formatter) -> None:
    record = logging.LogRecord("streamclust.kafka", logging.WARNING, __file__, 1, "connecting", None, None)
    record.client = {"bootstrap_servers": "b:9092", "sasl_plain_password": PASSWORD}
    record.ssl_password = PASSWORD

    line = formatter.format(record)

    assert PASSWORD not in line
    assert "b:9092" in line and MASK in line
    if isinstance(formatter, JsonFormatter):
        assert json.loads(line)["client"]["sasl_plain_password"] == MASK


def secret_fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found += secret_fields(annotation, f"{prefix}{name}.")
        elif is_secret_name(name):
            found.append((prefix + name, annotation))
    return found


def test_every_setting_with_a_secret_name_is_a_secret_str() -> None:
    fields = secret_fields(Settings)
    assert ("kafka.sasl_password", SecretStr | None) in fields
    for name, annotation in fields:
        assert SecretStr in typing.get_args(annotation) or annotation is SecretStr, name
