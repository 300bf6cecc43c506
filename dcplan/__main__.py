"""`dcplan` and `python -m dcplan`: the command line, loaded inside a guard so that Ctrl-C while
it loads (a tenth of a second of imports) exits 130, as it does once the command runs, and not
with a traceback."""

import sys


def main() -> None:
    try:
        from dcplan.cli import run
    except KeyboardInterrupt:
        sys.exit(130)
    run()


if __name__ == "__main__":
    main()
