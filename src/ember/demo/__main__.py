"""Run the demo: `python -m ember.demo [--epochs N] [--seed S] [--quiet] [--out DIR]`."""

from .main import main

main()
