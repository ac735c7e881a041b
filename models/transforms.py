"""Transforms inside a registered pipeline: numpy only, so the model loads without this project.

A registered model is pickled with this module *by value* (``models.registry``),
so MLflow can load and serve it wherever numpy and scikit-learn are installed,
without the ``early-warning`` package. Keep this module free of project
imports and of anything but numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def signed_log1p(x: Any) -> Any:
    """sign(x) * log(1 + |x|): tames counts and pounds, keeps falls in arrears negative."""
    values = np.asarray(x, dtype=float)
    return np.sign(values) * np.log1p(np.abs(values))
