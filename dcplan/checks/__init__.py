"""`dcplan check`: does every committed plan still fit its inputs?

:func:`check_paths` validates the site and program files under some paths, verifies each
committed plan against the current inputs without re-optimising (:mod:`.verify`), solves for
feasibility where no plan is committed (:mod:`.solve`), and returns findings that
:mod:`.formats` renders as text, JSON, GitHub annotations or JUnit XML.
"""

from dcplan.checks.formats import render
from dcplan.checks.report import CheckReport
from dcplan.checks.run import check_paths

__all__ = ["CheckReport", "check_paths", "render"]
