"""dcplan: plan AI data-center build-outs as code.

The library API lives in :mod:`dcplan.api`; the command line in :mod:`dcplan.cli` is a thin
shell over it.
"""

__version__ = "0.1.0"
