"""`python -m scorecard` is the same as the `scorecard` command."""

from scorecard.cli import main  # absolute: spark-submit runs this file as a script

main()
