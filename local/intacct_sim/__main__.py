"""``python -m intacct_sim``: same as the ``intacct-sim`` console script."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
