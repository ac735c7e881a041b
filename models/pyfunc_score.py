"""The registered model's code for MLflow's generic ``python_function`` flavour ("models from code").

MLflow copies this file into every registered version and runs it when the
version is loaded with ``mlflow.pyfunc.load_model`` or served with ``mlflow
models serve`` / ``mlflow models predict``. It must therefore import nothing
from this project: only mlflow, cloudpickle, numpy and pandas. The fitted
scikit-learn pipeline is the version's ``pipeline`` artefact, pickled with the
project's own transforms by value (``models.registry``), so it needs only
scikit-learn and numpy too.

``predict`` returns the score the night ranks by: the pipeline's probability
of the positive class, one float in 0-1 per row, in a column ``score``.
Columns may be integers or floats (a CSV of counts reads as integers); a
column that is not a number is refused with its name. Extra columns are
ignored: the pipeline selects its own features by name.

The project itself never imports this module; the night loads the same
pipeline artefact through ``models.registry.load_champion``.
"""

from __future__ import annotations

from typing import Any

import cloudpickle
import numpy as np
import pandas as pd
from mlflow.models import set_model
from mlflow.pyfunc import PythonModel

#: The artefact name under which ``models.registry`` stores the fitted pipeline.
PIPELINE = "pipeline"


def numeric_frame(model_input: Any) -> pd.DataFrame:
    """The input as a frame of float columns; a column that is not a number is named and refused."""
    frame = pd.DataFrame(model_input).copy()
    for column in frame.columns:
        try:
            frame[column] = pd.to_numeric(frame[column], errors="raise").astype("float64")
        except (ValueError, TypeError) as exc:
            raise ValueError(f"column {column!r} must hold numbers (or be empty): {exc}") from None
    return frame


class RiskScore(PythonModel):
    """The fitted pipeline behind pyfunc: ``predict`` gives the 0-1 score the night ranks by."""

    pipeline: Any = None

    def load_context(self, context: Any) -> None:
        with open(context.artifacts[PIPELINE], "rb") as handle:
            self.pipeline = cloudpickle.load(handle)

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        proba = self.pipeline.predict_proba(numeric_frame(model_input))
        return pd.DataFrame({"score": np.asarray(proba, dtype="float64")[:, 1]})


set_model(RiskScore())
