"""``streamclust config reference``: every setting with its default, allowed values and description (Markdown);
``--write README.md`` updates the README's reference in place. ``streamclust config prepare``: build once what
the settings' featurizer needs (the static model is distilled into the cache), so the first run starts at once."""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=("reference", "prepare"),
        help="reference: print every setting; prepare: distil and cache the featurizer's model now",
    )
    parser.add_argument(
        "--write", type=Path, metavar="FILE", help="reference: replace the reference block in FILE"
    )
    parser.add_argument(
        "--config", type=Path, help="prepare: the YAML preset to prepare for (default: the defaults)"
    )


def run(args: argparse.Namespace) -> int:
    if args.action == "prepare":
        return prepare(args.config)
    from streamclust.config_reference import reference_markdown, replace_block

    block = reference_markdown()
    if args.write is None:
        print(block, end="")
        return 0
    text = args.write.read_text(encoding="utf-8")
    updated = replace_block(text, block)
    if updated != text:
        args.write.write_text(updated, encoding="utf-8")
        print(f"updated the configuration reference in {args.write}")
    else:
        print(f"the configuration reference in {args.write} is up to date")
    return 0


def prepare(config: Path | None) -> int:
    from streamclust.config import load_settings
    from streamclust.featurize import build_featurizer

    settings = load_settings(config)
    build_featurizer(settings.featurize, seed=settings.seed)
    print(f"the {settings.featurize.kind} featurizer is ready")
    return 0
