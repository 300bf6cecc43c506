"""Rows given as a sparse matrix over Pyomo variables: a Pyomo constraint component whose rows
are not expressions.

A year of hourly rows written as Pyomo expressions costs about 10 µs a row to build and as much
again to compile into the solver's matrix (a full-year plan has 25-115 thousand). A
:class:`RowFamily` holds its rows as a matrix instead (built by :func:`dcplan.model.rows.row_family`),
and the compiler (:mod:`dcplan.solver.standard_form`) copies the matrix whole. It is still a Pyomo
constraint component: indexed like any other (``b.gas_cap[k, t]``), each row a constraint with its
index and name and, when asked, its expression (built then), so `dcplan check`, diagnosis and
Pyomo's own compiler read it as they read a row written by a rule.
"""

from __future__ import annotations

import weakref

import numpy as np
import scipy.sparse as sp
from pyomo.core.base.constraint import ConstraintData, IndexedConstraint
from pyomo.core.expr.numeric_expr import LinearExpression
from pyomo.core.expr.relational_expr import (
    EqualityExpression,
    InequalityExpression,
    RangedExpression,
)


class RowData(ConstraintData):
    """One row of a :class:`RowFamily`; its Pyomo expression is built when something asks."""

    __slots__ = ("_row",)

    def __init__(self, component_ref, key, row: int):  # ConstraintData's, without an expression to set
        self._component, self._active, self._index, self._row = component_ref, True, key, row

    @property
    def _expr(self):
        family = self.parent_component()
        start, end = family.A.indptr[self._row], family.A.indptr[self._row + 1]
        body = LinearExpression([float(c) * family.variables[j]
                                 for j, c in zip(family.A.indices[start:end], family.A.data[start:end])])
        lower, upper = family.lower[self._row], family.upper[self._row]
        if lower == upper:
            return EqualityExpression((body, float(upper)))
        if np.isinf(lower):
            return InequalityExpression((body, float(upper)), False)
        if np.isinf(upper):
            return InequalityExpression((float(lower), body), False)
        return RangedExpression((float(lower), body, float(upper)), (False, False))

    @_expr.setter
    def _expr(self, value):
        if value is not None:
            raise TypeError(f"{self.name}: a row of a RowFamily is given by its arrays and cannot be set")


class RowFamily(IndexedConstraint):
    """Rows ``lower <= A @ [variables] <= upper`` indexed by ``keys`` (row ``i``: ``keys[i]``) over
    ``index`` (the Pyomo sets the family is indexed by, as a rule's would be). A column of ``A``
    is an entry of ``variables``, which may repeat a variable (the matrix sums them). ``implied``:
    other rows of the model imply these (:attr:`dcplan.solver.highs.Compiled.implied`)."""

    _ComponentDataClass = RowData

    def __init__(self, *index, keys: list, variables: list, A: sp.csr_matrix, lower: np.ndarray,
                 upper: np.ndarray, implied: bool = False, **kwargs):
        super().__init__(*index, **kwargs)
        self.keys_in_order, self.variables, self.A, self.lower, self.upper = keys, variables, A, lower, upper
        self.implied = implied

    def construct(self, data=None):
        if self._constructed:
            return
        self._constructed = True
        if self._anonymous_sets is not None:
            for index_set in self._anonymous_sets:
                index_set.construct()
        ref = weakref.ref(self)
        self._data = {key: RowData(ref, key, i) for i, key in enumerate(self.keys_in_order)}

    def active_rows(self) -> list[RowData]:
        """Its active rows, in the order of its keys (without Pyomo's walk of the index set)."""
        return [row for row in self._data.values() if row._active]
