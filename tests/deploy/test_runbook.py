"""The runbook's `jemput` commands exist, with the options it gives them: an operator following
docs/operations.md during an incident must not meet "No such command"."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path

JemputCli = Callable[[Sequence[str]], tuple[int, str]]

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = ROOT / "docs" / "operations.md"
SHELL_OPERATORS = {"|", ">", "<", "&&", "||", ";", "#"}
COMMAND_GROUPS = {"residents", "outreach", "inventory", "analytics", "auth", "demo"}


def runbook_commands(text: str) -> list[list[str]]:
    """`jemput GROUP ...` in the runbook's code (blocks and inline), up to a shell operator or a
    comment; commands with placeholders such as <service> are left out."""
    lines = [
        line
        for block in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.DOTALL)
        for line in block.replace("\\\n", " ").splitlines()
    ]
    prose = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    lines += [span.replace("\n", " ") for span in re.findall(r"`([^`]+)`", prose)]
    found = []
    for piece in lines:
        for line in piece.split("$("):
            try:
                tokens = shlex.split(line, comments=True)
            except ValueError:
                continue
            for start, token in enumerate(tokens[:-1]):
                # `./jemput` (the checkout's wrapper) or the installed `jemput`
                if token.rsplit("/", 1)[-1] == "jemput" and tokens[start + 1] in COMMAND_GROUPS:
                    command = ["jemput"]
                    for word in tokens[start + 1 :]:
                        if word in SHELL_OPERATORS or word.endswith(")"):
                            break
                        command.append(word)
                    if not any("<" in word or "..." in word for word in command):
                        found.append(command)
    return found


def test_the_runbook_commands_exist(jemput_cli: JemputCli) -> None:
    commands = runbook_commands(RUNBOOK.read_text())
    named = {" ".join(command[:3]) for command in commands}
    assert {
        "jemput analytics rebuild",
        "jemput auth token",
        "jemput auth api-key",
        "jemput residents audit",
    } <= named
    for command in commands:
        code, output = jemput_cli([*command, "--help"])
        assert code == 0, f"{shlex.join(command)}:\n{output}"


def test_a_misspelt_runbook_command_would_fail(jemput_cli: JemputCli) -> None:
    (command,) = runbook_commands("```bash\nuv run jemput analytics rebuilt --keep-old\n```")
    assert command == ["jemput", "analytics", "rebuilt", "--keep-old"]
    assert jemput_cli([*command, "--help"])[0] != 0


def test_the_checkouts_wrapper_counts_as_jemput() -> None:
    (command,) = runbook_commands("`./jemput auth token --client petugas --minutes 60`")
    assert command == ["jemput", "auth", "token", "--client", "petugas", "--minutes", "60"]
