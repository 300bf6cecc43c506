"""Families of linear rows built as arrays: one row an hour (or a unit and an hour), without an
expression per row (see :mod:`dcplan.solver.array_rows` for why, and what such a family still is).
A model part states the rows by their terms: each row's own variable (its hour's dispatch) and
the design expressions all rows share (units built, MW installed), times numbers or profiles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression

from dcplan.model.context import value_of, values_of
from dcplan.solver.array_rows import RowFamily
from dcplan.solver.standard_form import linear_terms


@dataclass
class Term:
    """``coef * variables[i]`` in row ``i``: ``variables`` one Pyomo variable per row, or one
    linear expression of a few (a design: units built, MW installed) that every row shares;
    ``coef`` one number, or one per row."""

    variables: Sequence | object
    coef: float | np.ndarray = 1.0

    def values(self, rows: int) -> np.ndarray:
        """Its value in each row at the variables' values (none: 0)."""
        if isinstance(self.variables, (list, tuple)):
            return self.coef * values_of(list(self.variables))
        return self.coef * np.full(rows, value_of(self.variables))

    def at(self, row: int):
        """Row ``row``'s part as a Pyomo expression (a quantity also used a step at a time)."""
        coef = float(self.coef if np.ndim(self.coef) == 0 else self.coef[row])
        return coef * (self.variables[row] if isinstance(self.variables, (list, tuple)) else self.variables)


@dataclass
class Hourly:
    """A figure per step stated as terms (a site's load): the rows it enters take its terms
    whole; a step's Pyomo expression is built only when something asks for it (``[t]``)."""

    terms: list[Term]
    steps: int

    def __getitem__(self, t: int):
        return sum(term.at(t) for term in self.terms)

    def values(self) -> np.ndarray:
        """Each step's value at the variables' values."""
        return sum((term.values(self.steps) for term in self.terms), np.zeros(self.steps))

    def weighted_sum(self, weights: np.ndarray):
        """``sum over t of weights[t] x self[t]`` as a Pyomo expression (a year's energy): a
        shared design expression once, with its weighted coefficients summed."""
        total = 0.0
        for term in self.terms:
            coef = np.broadcast_to(np.asarray(term.coef, dtype=float), (self.steps,)) * weights
            if isinstance(term.variables, (list, tuple)):
                total += weighted_sum(coef, term.variables)
            else:
                total += float(coef.sum()) * term.variables
        return total


@dataclass
class Rows:
    """Rows ``lower <= sum of terms <= upper`` (None: no bound; a number or one per row), one per
    key of ``keys``, the keys of the family these rows are part of."""

    keys: Sequence
    terms: Sequence[Term]
    lower: float | np.ndarray | None = None
    upper: float | np.ndarray | None = None


def weighted_sum(coefs, variables) -> LinearExpression:
    """``sum of coefs[i] x variables[i]`` as one Pyomo linear expression built directly: a year's
    8,760 terms in a sixth of the time a Python sum over Pyomo's operators takes."""
    return LinearExpression([MonomialTermExpression((float(c), v)) for c, v in zip(coefs, variables)])


def row_family(*index, rows: Sequence[Rows], implied: bool = False) -> RowFamily:
    """A :class:`RowFamily` over ``index`` from groups of rows (one group a unit type, say), in
    the order of their keys; ``implied``: rows that other rows of the model imply (see
    :attr:`dcplan.solver.highs.Compiled.implied`)."""
    keys: list = []
    variables: list = []
    entry_row, entry_col, entry_coef = [], [], []
    lower_parts, upper_parts = [], []
    for group in rows:
        n = len(group.keys)
        first = len(keys)
        keys += list(group.keys)
        shift = np.zeros(n)  # the design expressions' constants, moved to the bounds
        for term in group.terms:
            coef = np.broadcast_to(np.asarray(term.coef, dtype=float), (n,))
            if isinstance(term.variables, (list, tuple)):
                if len(term.variables) != n:
                    raise ValueError(f"a term of {len(term.variables)} variables for {n} rows")
                entry_row.append(first + np.arange(n))
                entry_col.append(len(variables) + np.arange(n))
                entry_coef.append(coef)
                variables += term.variables
                continue
            shared, shared_coef, constant = linear_terms(term.variables)
            for var, c in zip(shared, shared_coef):
                entry_row.append(first + np.arange(n))
                entry_col.append(np.full(n, len(variables)))
                entry_coef.append(coef * c)
                variables.append(var)
            shift += coef * constant
        lower_parts.append(np.broadcast_to(-np.inf if group.lower is None else np.asarray(group.lower, dtype=float), (n,)) - shift)
        upper_parts.append(np.broadcast_to(np.inf if group.upper is None else np.asarray(group.upper, dtype=float), (n,)) - shift)
    A = sp.csr_matrix((np.concatenate(entry_coef), (np.concatenate(entry_row), np.concatenate(entry_col))),
                      shape=(len(keys), len(variables))) if entry_coef else sp.csr_matrix((len(keys), 0))
    return RowFamily(*index, keys=keys, variables=variables, A=A, lower=np.concatenate([np.zeros(0), *lower_parts]),
                     upper=np.concatenate([np.zeros(0), *upper_parts]), implied=implied)
