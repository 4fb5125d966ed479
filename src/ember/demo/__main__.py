"""Run the demo: `python -m ember.demo [--epochs N] [--seed S] [--quiet]`."""

from . import main

main()
