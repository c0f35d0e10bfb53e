"""The Amazon Connect flows of the SAM template, copied from ``infra/connect/``.

CloudFormation cannot read a file, so each ``AWS::Connect::ContactFlow`` holds its flow's
JSON (compact, one line) in a ``Fn::Sub`` whose variables fill the flow's ``${NAME}``
placeholders. The line follows a marker comment naming the file; a test fails when a
template copy and its file drift apart.

    python -m cardline.deploy.connect_flows infra/serverless/template.yaml          # rewrite
    python -m cardline.deploy.connect_flows --check infra/serverless/template.yaml  # compare
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from cardline.cde.encoding import compact
from cardline.ivr.flow import FLOW_FILE, TRANSFER_FLOW_FILE, default_flow_path

__all__ = ["FILES", "MARKER", "content", "render"]

FILES = (FLOW_FILE, TRANSFER_FLOW_FILE)
MARKER = "# flow content: infra/connect/"
_LINE = re.compile(
    r"^(?P<marker>[ ]*" + re.escape(MARKER) + r"(?P<file>\S+)\n)(?P<indent>[ ]*)- .*$",
    re.MULTILINE,
)


def content(file: str) -> str:
    """The flow file as one line of compact JSON (what Connect imports)."""
    path = default_flow_path().with_name(file)
    return compact(json.loads(path.read_text(encoding="utf-8")))


def render(template: str) -> str:
    """``template`` with the line after each marker holding its flow's content."""

    def line(match: re.Match[str]) -> str:
        if match["file"] not in FILES:
            raise ValueError(f"the template names an unknown flow file {match['file']}")
        # A JSON string is a YAML double-quoted scalar, escapes included.
        return f"{match['marker']}{match['indent']}- {json.dumps(content(match['file']))}"

    return _LINE.sub(line, template)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template", type=Path)
    parser.add_argument("--check", action="store_true", help="exit 1 if the template is stale")
    args = parser.parse_args(argv)
    text = args.template.read_text(encoding="utf-8")
    rendered = render(text)
    if args.check:
        if rendered != text:
            print(f"{args.template}: the Connect flows are stale; rewrite without --check")
            return 1
        return 0
    args.template.write_text(rendered, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
