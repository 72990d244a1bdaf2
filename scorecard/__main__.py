"""`python -m scorecard` is the same as the `scorecard` command."""

from .cli import main

main()
