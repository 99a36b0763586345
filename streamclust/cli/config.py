"""``streamclust config reference``: every setting with its default, allowed values and description (Markdown);
``--write README.md`` updates the README's reference in place."""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("reference",), help="what to print")
    parser.add_argument("--write", type=Path, metavar="FILE", help="replace the reference block in FILE")


def run(args: argparse.Namespace) -> int:
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
