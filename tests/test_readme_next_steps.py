"""README's next steps are commands `cakupan` takes as written (tried by hand after `make run`; each one's
behaviour has its own test)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from cakupan.cli import build_parser

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_next_step_is_a_command_cakupan_takes():
    block = re.search(r"## Next steps\n.*?```\n(.*?)```", README, re.S).group(1)
    steps = [shlex.split(line.split("  #")[0]) for line in block.splitlines() if line.strip()]
    assert len(steps) >= 5
    for step in steps:
        assert step[0] == ".venv/bin/cakupan", step
        build_parser().parse_args(step[1:])  # exits with argparse's message on a step it does not take
