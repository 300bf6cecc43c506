"""A Pyomo model's linear rows as sparse arrays, written for the expression shapes dcplan builds.

Pyomo's ``LinearStandardFormCompiler`` walks every expression with a general visitor; on a year
of hourly rows that walk takes as long as building the model (about 13 µs a row). dcplan's rows
are sums of variables times numbers, of named expressions (a site's load, a unit count) and of
numbers, so a direct walk over those node types does the same job several times faster, with a
named expression compiled once however many rows use it. Any other node (a nonlinear term, an
expression type this walk does not know) raises :class:`Unsupported`, and the caller compiles
the model with Pyomo's compiler instead.

The result is Pyomo's, row for row and column for column: a fixed variable is a number; a row
without a nonzero coefficient on a free variable is dropped when its bounds hold (within 1e-9,
for the rounding of sums taken in another order) and makes the model infeasible
(``InfeasibleConstraintException``) when they do not; a row is oriented as Pyomo orients it (a
dual's sign depends on it); the columns are the free variables with a nonzero coefficient in a
row or the objective, each variable component's in index order, components in order of first
use (HiGHS is given the same problem whichever compiler ran). A ranged row is one row with both
bounds, where Pyomo's has two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyomo.core as pyo
import scipy.sparse as sp
from pyomo.common.errors import InfeasibleConstraintException
from pyomo.common.numeric_types import native_numeric_types
from pyomo.core.base.expression import ExpressionData, ScalarExpression
from pyomo.core.base.var import ScalarVar, VarData
from pyomo.core.expr import numeric_expr as ne
from pyomo.core.expr import relational_expr as rel

from dcplan.collector import paused_collector
from dcplan.solver.array_rows import RowFamily

_VARIABLES = {VarData, ScalarVar}  # grows as other variable classes are met
_NAMED = (ExpressionData, ScalarExpression)
_SUMS = (ne.LinearExpression, ne.SumExpression)
ROUNDING = 1e-9


def _holds(lo: float | None, hi: float | None) -> bool:
    """Whether ``lo <= 0 <= hi`` (a row without free variables), within :data:`ROUNDING`."""
    return (lo is None or lo <= ROUNDING * max(1.0, abs(lo))) and (hi is None or hi >= -ROUNDING * max(1.0, abs(hi)))


def _constant(expr) -> bool:
    return expr.__class__ in native_numeric_types or not expr.is_potentially_variable()


class Unsupported(Exception):
    """An expression this compiler does not read (the caller falls back to Pyomo's)."""


@dataclass
class LinearForm:
    """``row_lower <= A x <= row_upper``, objective ``cost . x + offset`` (minimised)."""

    A: sp.csr_matrix
    columns: list  # Pyomo VarData per column
    rows: list  # Pyomo ConstraintData per row
    row_lower: np.ndarray
    row_upper: np.ndarray
    cost: np.ndarray
    offset: float


def linear_form(model: pyo.Block) -> LinearForm:
    """The active constraints and objective of ``model`` as arrays (see the module docstring)."""
    if next(model.component_data_objects((pyo.SOSConstraint, pyo.LogicalConstraint), active=True, descend_into=True), None):
        raise Unsupported("an SOS or logical constraint")  # Pyomo's compiler says what it makes of them
    walk = _Walk()
    objectives = list(model.component_data_objects(pyo.Objective, active=True, descend_into=True))
    if len(objectives) > 1:
        raise Unsupported("more than one active objective")
    offset = 0.0
    with paused_collector():  # the walk makes many small objects and keeps none
        if objectives:
            if objectives[0].sense != pyo.minimize:
                raise ValueError("a maximised objective: dcplan's models minimise")
            offset = walk.add(objectives[0].expr, 1.0)
        cost_index, cost_value = walk.take()
        row_of: list[int] = []  # per term
        lower: list[float] = []
        upper: list[float] = []
        rows = []
        blocks = []  # families given as arrays: (first row, their terms as a COO matrix)
        for component in model.component_objects(pyo.Constraint, active=True, descend_into=True):
            if isinstance(component, RowFamily):
                first = len(lower)
                terms, lo, hi, members = _family_rows(component, walk)
                blocks.append((first, terms))
                lower.extend(lo)
                upper.extend(hi)
                rows += members
                continue
            for con in component.values():
                if not con.active:
                    continue
                before = len(walk.index)
                lo, hi = walk.bounds(con)
                if (lo is None and hi is None) or not any(walk.value[before:]):
                    del walk.index[before:], walk.value[before:]
                    _check_numbers(con, lo, hi)
                    continue
                row_of.extend([len(rows)] * (len(walk.index) - before))
                lower.append(-np.inf if lo is None else lo)
                upper.append(np.inf if hi is None else hi)
                rows.append(con)
    n = len(walk.columns)
    entry_row = np.concatenate([np.asarray(row_of, dtype=np.int64)] + [first + t.row for first, t in blocks])
    entry_col = np.concatenate([np.asarray(walk.index, dtype=np.int64)] + [t.col for _, t in blocks])
    entry_coef = np.concatenate([np.asarray(walk.value, dtype=float)] + [t.data for _, t in blocks])
    A = sp.csr_matrix((entry_coef, (entry_row, entry_col)), shape=(len(rows), n))
    A.eliminate_zeros()  # terms that cancel (x - x)
    cost = np.zeros(n)
    np.add.at(cost, np.asarray(cost_index, dtype=np.int64), np.asarray(cost_value, dtype=float))
    lower_a, upper_a = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    empty = np.flatnonzero(np.diff(A.indptr) == 0)  # rows whose free terms all cancelled
    if len(empty):
        for i in empty:
            _check_numbers(rows[i], None if np.isinf(lower_a[i]) else lower_a[i], None if np.isinf(upper_a[i]) else upper_a[i])
        keep = np.setdiff1d(np.arange(len(rows)), empty)
        A, lower_a, upper_a, rows = A[keep], lower_a[keep], upper_a[keep], [rows[i] for i in keep]
    used = np.flatnonzero((np.diff(A.tocsc().indptr) > 0) | (cost != 0.0))  # in Pyomo's order (see _new_column)
    return LinearForm(A[:, used].tocsr(), [walk.columns[j] for j in used], rows, lower_a, upper_a,
                      cost[used], float(offset))


def _family_rows(family: RowFamily, walk: _Walk) -> tuple[sp.coo_matrix, np.ndarray, np.ndarray, list]:
    """The active rows of a family given as arrays, in index order: their terms on the walk's
    columns (fixed variables moved to the bounds), bounds, and row objects. A row without bounds
    is left out; one whose terms are all fixed stays, to be checked with the rows whose terms
    cancel."""
    members = family.active_rows()
    at = np.fromiter((row._row for row in members), dtype=np.int64, count=len(members))
    A, lower, upper = family.A[at], family.lower[at], family.upper[at]
    fixed = np.fromiter((var.fixed for var in family.variables), dtype=bool, count=len(family.variables))
    if fixed.any():
        values = np.zeros(len(fixed))
        for j in np.flatnonzero(fixed):
            value = family.variables[j].value
            if value is None:
                raise ValueError(f"{family.variables[j].name} is fixed without a value")
            values[j] = value
        moved = A @ values
        lower, upper = lower - moved, upper - moved
        A = A[:, ~fixed]
    free = [var for var, f in zip(family.variables, fixed) if not f]
    terms = A.tocoo()
    terms.col = walk.columns_of(free)[terms.col]
    bounded = np.isfinite(lower) | np.isfinite(upper)
    if not bounded.all():
        keep = np.flatnonzero(bounded)
        terms = sp.csr_matrix((terms.data, (terms.row, terms.col)), shape=(len(at), len(walk.columns)))[keep].tocoo()
        lower, upper, members = lower[keep], upper[keep], [members[i] for i in keep]
    return terms, lower, upper, members


def linear_terms(expr) -> tuple[list, np.ndarray, float]:
    """A linear expression as its variables (fixed ones too), their coefficients and a constant
    (a design expression many rows of a :class:`RowFamily` share)."""
    walk = _Walk(ranked=False, fixed_as_numbers=False)
    constant = walk.add(expr, 1.0)
    coef = np.zeros(len(walk.columns))
    np.add.at(coef, np.asarray(walk.index, dtype=np.int64), np.asarray(walk.value, dtype=float))
    return walk.columns, coef, float(constant)


def _check_numbers(con, lo: float | None, hi: float | None) -> None:
    """A row of numbers only: nothing to compile when it holds, an infeasible model when not."""
    if not _holds(lo, hi):
        raise InfeasibleConstraintException(f"model contains a trivially infeasible constraint, '{con.name}'")


def evaluate(exprs: list) -> np.ndarray:
    """The values of linear expressions at their variables' current values, walked as the rows
    are: several times faster than Pyomo's evaluation of each (a plan's hourly columns). Raises
    :class:`Unsupported` as :func:`linear_form` does, and where a variable has no value."""
    if all(expr.__class__ in _VARIABLES for expr in exprs):  # a dispatch column: values as they are
        x = np.array([var.value for var in exprs], dtype=float)  # None: NaN
        if np.isnan(x).any():
            raise Unsupported("a variable without a value")
        return x
    walk = _Walk(ranked=False)
    constants = np.empty(len(exprs))
    owner: list[int] = []
    try:
        with paused_collector():
            for i, expr in enumerate(exprs):
                before = len(walk.index)
                constants[i] = walk.add(expr, 1.0)
                owner.extend([i] * (len(walk.index) - before))
    except TypeError:  # a fixed variable without a value
        raise Unsupported("a fixed variable without a value") from None
    x = np.array([v.value for v in walk.columns], dtype=float)  # None: NaN
    if np.isnan(x).any():
        raise Unsupported("a variable without a value")
    terms = np.asarray(walk.value, dtype=float) * x[np.asarray(walk.index, dtype=np.int64)] if owner else np.zeros(0)
    return constants + np.bincount(np.asarray(owner, dtype=np.int64), weights=terms, minlength=len(exprs))


class _Walk:
    """Appends ``coef * expr``'s terms (column, coefficient; a column may repeat, the matrix sums
    them) to ``index`` and ``value`` and returns its constant part; a named expression is
    collected once and reused. ``ranked``: columns in Pyomo's order, a whole variable component
    at a time (for a matrix, whose unused columns are dropped); otherwise only the variables met
    (values)."""

    def __init__(self, ranked: bool = True, fixed_as_numbers: bool = True):
        self.ranked = ranked
        self.fixed_as_numbers = fixed_as_numbers
        self.index: list[int] = []
        self.value: list[float] = []
        self.named: dict[int, tuple[list, list, float]] = {}
        self.order: dict[int, int] = {}  # id(var) -> its column
        self.columns: list = []
        self.components: set[int] = set()  # the variable components whose columns are all in

    def take(self) -> tuple[list[int], list[float]]:
        """The terms collected so far, and a fresh start."""
        index, value, self.index, self.value = self.index, self.value, [], []
        return index, value

    def bounds(self, con) -> tuple[float | None, float | None]:
        """The row's bounds on its terms (collected), its constant moved across."""
        expr = con.expr
        cls = expr.__class__
        if cls is rel.InequalityExpression or cls is rel.EqualityExpression:
            # oriented as Pyomo orients it (a dual's sign depends on it): the side with variables
            # is the row, or ``left - right`` when both have them
            left, right = expr.args
            equality = cls is rel.EqualityExpression
            if _constant(right):
                high = self._number(right) - self.add(left, 1.0)
                return (high if equality else None), high
            if _constant(left):
                low = self._number(left) - self.add(right, 1.0)
                return low, (low if equality else None)
            high = -(self.add(left, 1.0) + self.add(right, -1.0))
            return (high if equality else None), high
        if cls is rel.RangedExpression:
            if expr.strict[0] or expr.strict[1]:
                raise Unsupported("a strict inequality")
            low, body, high = expr.args
            constant = self.add(body, 1.0)
            return self._bound(low, constant), self._bound(high, constant)
        raise Unsupported(f"constraint {con.name}: {cls.__name__}")

    def _bound(self, bound, constant: float) -> float | None:
        return None if bound is None else self._number(bound) - constant

    def add(self, expr, coef: float) -> float:
        cls = expr.__class__
        if cls in _VARIABLES:  # the commonest node first, handled in line (a call costs as much)
            if expr.fixed and self.fixed_as_numbers:
                return coef * expr.value
            j = self.order.get(id(expr))
            if j is None:
                j = self._new_column(expr)
            self.index.append(j)
            self.value.append(coef)
            return 0.0
        if cls in native_numeric_types:
            return coef * expr
        if cls is ne.MonomialTermExpression:
            c, var = expr.args
            if c.__class__ not in native_numeric_types:
                c = pyo.value(c)
            return self.add(var, coef * c)
        if cls in _NAMED:
            return self._named(expr, coef)
        if cls in _SUMS:
            constant = 0.0
            index, value, order = self.index, self.value, self.order
            for arg in expr.args:
                if arg.__class__ is ne.MonomialTermExpression:  # the commonest term, in line
                    c, var = arg.args
                    if c.__class__ in native_numeric_types and var.__class__ in _VARIABLES and not (
                            var.fixed and self.fixed_as_numbers):
                        j = order.get(id(var))
                        index.append(self._new_column(var) if j is None else j)
                        value.append(coef * c)
                        continue
                constant += self.add(arg, coef)
            return constant
        if cls is ne.ProductExpression:
            left, right = expr.args
            if left.__class__ in native_numeric_types:
                return self.add(right, coef * left)
            if right.__class__ in native_numeric_types:
                return self.add(left, coef * right)
            if self._varies(left):
                return self.add(left, coef * self._number(right))
            return self.add(right, coef * self._number(left))
        if cls is ne.NegationExpression:
            return self.add(expr.args[0], -coef)
        if cls is ne.DivisionExpression:
            numerator, denominator = expr.args
            return self.add(numerator, coef / self._number(denominator))
        if not hasattr(expr, "is_potentially_variable"):
            raise Unsupported(cls.__name__)
        if not expr.is_potentially_variable():  # a parameter or an expression of numbers only
            return coef * pyo.value(expr)
        if expr.is_variable_type():  # a variable of another class: known from now on
            _VARIABLES.add(cls)
            return self.add(expr, coef)
        raise Unsupported(cls.__name__)

    def _new_column(self, var) -> int:
        """A column for ``var``; ranked, one for each variable of its component, in index order,
        as Pyomo's compiler orders columns (the components by first use): one registration a
        component rather than one a variable."""
        component = var.parent_component() if self.ranked else None
        if component is not None and id(component) not in self.components:
            self.components.add(id(component))
            members = list(component.values())
            self.order.update(zip(map(id, members), range(len(self.columns), len(self.columns) + len(members))))
            self.columns += members
            j = self.order.get(id(var))
            if j is not None:
                return j
        j = self.order[id(var)] = len(self.columns)
        self.columns.append(var)
        return j

    def columns_of(self, variables: list) -> np.ndarray:
        """The columns of free variables (new ones added as :meth:`add` adds them)."""
        columns = list(map(self.order.get, map(id, variables)))
        for i in [i for i, j in enumerate(columns) if j is None]:  # a component met first (all its columns made)
            j = self.order.get(id(variables[i]))
            columns[i] = self._new_column(variables[i]) if j is None else j
        return np.array(columns, dtype=np.int64)

    def _named(self, expr, coef: float) -> float:
        known = self.named.get(id(expr))
        if known is None:
            outer, self.index, self.value = (self.index, self.value), [], []
            constant = self.add(expr.expr, 1.0)
            known = self.named[id(expr)] = (self.index, self.value, constant)
            self.index, self.value = outer
        self.index.extend(known[0])
        self.value.extend([coef * c for c in known[1]] if coef != 1.0 else known[1])
        return coef * known[2]

    def _varies(self, expr) -> bool:
        """Whether ``expr`` has a free variable (fixed ones are numbers)."""
        before = len(self.index)
        self.add(expr, 1.0)
        varies = len(self.index) > before
        del self.index[before:], self.value[before:]
        return varies

    def _number(self, expr) -> float:
        if expr.__class__ in native_numeric_types:
            return expr
        before = len(self.index)
        value = self.add(expr, 1.0)
        if len(self.index) > before:
            raise Unsupported("a product or quotient of variables")
        del self.index[before:], self.value[before:]
        return value
