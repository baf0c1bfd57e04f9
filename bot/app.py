"""`policybot run` and `policybot chat`: registered on the CLI by add_commands()."""

from __future__ import annotations

import argparse


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the bot's subcommands (run, chat) to the CLI parser."""
