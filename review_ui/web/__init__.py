"""The caseworkers' review app: FastAPI + Jinja2 + htmx in GOV.UK style.

It shows the review queue to the people who help, behind sign-in, roles and
an audit trail. It cannot compute, load or export scores (an import contract
in pyproject.toml keeps models, flows, MLflow and Prefect out of it), and it
has no enforcement action anywhere: the only things a reviewer can do are
claim, release, reassign and record what help was offered.

Start it with ``early-warning serve``; build it in tests with :func:`create_app`.
"""

from review_ui.web.app import create_app

__all__ = ["create_app"]
