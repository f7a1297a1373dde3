"""The `aos` command line (click + rich). `main` is the console-script entry point."""

from aos_sdk.cli.app import cli, main

__all__ = ["cli", "main"]
