"""Mistakes in the settings, caught before they are used, each with a way out.

A misspelt ``STREAMCLUST_*`` variable or YAML key would otherwise be ignored or reported without a hint, so an
unknown name is an error that offers the nearest real one; a bad value is reported with the place that set it
(the environment variable, or the file, line and key). Values are never quoted here: they may be secrets.

>>> from streamclust.config import Settings
>>> unknown_environment_names(Settings, {"STREAMCLUST_CLUSTER_HALF_LIFE_POSTS": "3"})
['STREAMCLUST_CLUSTER_HALF_LIFE_POSTS is not a setting; did you mean STREAMCLUST_CLUSTER__HALF_LIFE_POSTS? \
(a section and its key are joined by two underscores)']
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

ENVIRONMENT_PREFIX = "STREAMCLUST_"
# Read by deploy/kafka/local-broker (where the Kafka jars are cached), not by Settings.
NOT_SETTINGS = frozenset({"STREAMCLUST_CACHE"})


def setting_keys(settings_cls: type[BaseModel]) -> dict[str, set[str]]:
    """Every section with its keys; a top-level key that is not a section maps to an empty set."""
    keys: dict[str, set[str]] = {}
    for name, info in settings_cls.model_fields.items():
        section = info.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            keys[name] = set(section.model_fields)
        else:
            keys[name] = set()
    return keys


def dotted_keys(settings_cls: type[BaseModel]) -> list[str]:
    """``seed``, ``cluster.half_life_posts``, ...: every key a YAML file or a variable can set."""
    return [
        f"{top}.{key}" if key else top
        for top, keys in setting_keys(settings_cls).items()
        for key in sorted(keys) or [""]
    ]


def environment_name(dotted_key: str) -> str:
    """The variable that sets a key: ``cluster.half_life_posts`` -> ``STREAMCLUST_CLUSTER__HALF_LIFE_POSTS``."""
    return ENVIRONMENT_PREFIX + dotted_key.upper().replace(".", "__")


def nearest(name: str, candidates: list[str]) -> str | None:
    """The candidate ``name`` most likely meant, or None when none is close."""
    matches = difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
    return matches[0] if matches else None


def unknown_environment_names(settings_cls: type[BaseModel], environ: Mapping[str, str]) -> list[str]:
    """One line for each ``STREAMCLUST_*`` variable that sets nothing (pydantic-settings would ignore it)."""
    sections = setting_keys(settings_cls)
    known = {environment_name(key) for key in dotted_keys(settings_cls)}
    known |= {environment_name(section) for section, keys in sections.items() if keys}  # a section as JSON
    candidates = sorted(known)
    problems = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(ENVIRONMENT_PREFIX) or upper in known or upper in NOT_SETTINGS:
            continue
        problems.append(f"{name} is not a setting; {environment_hint(upper, candidates)}")
    return problems


def environment_hint(name: str, candidates: list[str]) -> str:
    squeezed = name.replace("_", "")
    for candidate in candidates:
        if candidate.replace("_", "") == squeezed:
            return f"did you mean {candidate}? (a section and its key are joined by two underscores)"
    bare = [candidate.removeprefix(ENVIRONMENT_PREFIX) for candidate in candidates]
    match = nearest(name.removeprefix(ENVIRONMENT_PREFIX), bare)
    if match is not None:
        return f"did you mean {ENVIRONMENT_PREFIX}{match}?"
    section, _, key = name.removeprefix(ENVIRONMENT_PREFIX).partition("__")
    keys = [known.partition("__")[2].lower() for known in bare if known.startswith(f"{section}__")]
    if key and keys:
        return f"the keys of {section.lower()} are: {', '.join(keys)}"
    return "the variable of section.key is STREAMCLUST_SECTION__KEY (streamclust config reference lists them)"


def unknown_yaml_keys(settings_cls: type[BaseModel], data: Mapping[str, Any], where: YamlKeys) -> list[str]:
    """One line for each key of a YAML preset that is not a setting, with the line it is on."""
    sections = setting_keys(settings_cls)
    every_key = dotted_keys(settings_cls)
    problems = []
    for top, values in data.items():
        if top not in sections:
            problems.append(f"{where.at(str(top))}: unknown key {top}; {yaml_hint(str(top), list(sections))}")
        elif sections[top] and isinstance(values, Mapping):
            for key in values:
                dotted = f"{top}.{key}"
                if key not in sections[top]:
                    problems.append(
                        f"{where.at(dotted)}: unknown key {dotted}; {yaml_hint(dotted, every_key)}"
                    )
    return problems


def yaml_hint(dotted: str, candidates: list[str]) -> str:
    key = dotted.rpartition(".")[2]
    elsewhere = [candidate for candidate in candidates if candidate.rpartition(".")[2] == key]
    if elsewhere:
        return f"did you mean {elsewhere[0]}? (it is in another section)"
    match = nearest(dotted, candidates)
    if match is not None:
        return f"did you mean {match}?"
    section = dotted.partition(".")[0]
    keys = [known.partition(".")[2] for known in candidates if known.startswith(f"{section}.")]
    if "." in dotted and keys:
        return f"the keys of {section} are: {', '.join(keys)}"
    return "streamclust config reference lists every key"


@dataclass(frozen=True)
class YamlKeys:
    """Where each key of a YAML preset is: ``at("cluster.half_life_posts")`` -> ``configs/my.yaml line 12``."""

    path: Path | None = None
    lines: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, path: Path, text: str) -> YamlKeys:
        """The lines of the top-level keys and of the keys one level down (``text`` is valid YAML)."""
        lines: dict[str, int] = {}
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        for key, value in mapping_items(root):
            lines[key.value] = key.start_mark.line + 1
            for inner, _ in mapping_items(value):
                lines[f"{key.value}.{inner.value}"] = inner.start_mark.line + 1
        return cls(path, lines)

    def __contains__(self, dotted: str) -> bool:
        return dotted in self.lines

    def at(self, dotted: str) -> str:
        line = self.lines.get(dotted) or self.lines.get(dotted.partition(".")[0])
        return f"{self.path} line {line}" if line else str(self.path)


def mapping_items(node: yaml.Node | None) -> list[tuple[yaml.ScalarNode, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        return []
    return [(key, value) for key, value in node.value if isinstance(key, yaml.ScalarNode)]


@dataclass(frozen=True)
class Origins:
    """Which source set a key, highest precedence first: keyword arguments, the environment, the YAML file."""

    yaml: YamlKeys
    environ: Mapping[str, str]
    overrides: Mapping[str, Any] = field(default_factory=dict)  # load_settings' keyword arguments

    def of(self, location: tuple[Any, ...]) -> str:
        """Where the value at a validation error's location came from, e.g. ``set by STREAMCLUST_SEED``."""
        dotted = ".".join(str(part) for part in location[:2])
        if not dotted:
            return ""
        given = self.overrides.get(str(location[0]))
        if given is not None and (
            not isinstance(given, Mapping) or len(location) < 2 or location[1] in given
        ):
            return "given on the command line or as a keyword argument"
        variables = self.variables_for(dotted)
        if variables:
            return "set by " + ", ".join(variables)
        if dotted in self.yaml or str(location[0]) in self.yaml:
            return f"set in {self.yaml.at(dotted)}"
        return "from the built-in defaults and the values above"

    def variables_for(self, dotted: str) -> list[str]:
        """The variables that set ``dotted`` (for a section: every variable of that section)."""
        wanted = environment_name(dotted)
        section = environment_name(dotted.partition(".")[0])
        found = []
        for name in sorted(self.environ):
            upper = name.upper()
            if upper in (wanted, section) or ("." not in dotted and upper.startswith(wanted + "__")):
                found.append(name)
        return found
