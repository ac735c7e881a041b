"""The model card, in the headings of the UK Algorithmic Transparency Recording Standard (ATRS).

Pure: a function from aggregate facts to markdown. Sections a council must
complete itself (named owners, contact details, its DPIA reference) are
marked "To be completed by the council".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from models.evaluation import FairnessRules

TODO = "_To be completed by the council._"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _metrics_table(report: Mapping[str, Mapping[str, float]]) -> str:
    columns = [
        "precision_at_capacity",
        "recall_at_capacity",
        "pr_auc",
        "brier",
        "lead_time_median_days",
        "fairness_gap",
    ]
    lines = ["| score | " + " | ".join(c.replace("_", " ") for c in columns) + " |"]
    lines.append("|---" * (len(columns) + 1) + "|")
    for name, metrics in report.items():
        lines.append(f"| {name} | " + " | ".join(_fmt(metrics.get(c, "-")) for c in columns) + " |")
    return "\n".join(lines)


def frame_markdown(frame: pl.DataFrame) -> str:
    lines = ["| " + " | ".join(frame.columns) + " |", "|---" * frame.width + "|"]
    for row in frame.iter_rows():
        lines.append("| " + " | ".join("-" if v is None else _fmt(v) for v in row) + " |")
    return "\n".join(lines)


def fairness_method(rules: FairnessRules) -> str:
    """How the fairness audit compares groups, in words (model card and ``fairness.md``)."""
    return (
        "Surfacing rate, precision and recall at capacity are shown for each group of sex, "
        "ethnicity, age band and locality. A group is compared only when it holds at least "
        f"{rules.min_group_size} people and at least {rules.min_group_positives} people who went on "
        'to a crisis or enforcement event; smaller groups are shown as "too few to compare", and '
        '"unknown" is shown but never compared. Raw ratios between small groups are noise (a group '
        "where no positive was surfaced makes them infinite), so each compared group's rate x/n is "
        "smoothed towards the pooled rate p of the compared groups of its attribute, "
        f"r = (x + k·p) / (n + k) with k = {rules.smoothing:g}, and compared with p: its gap is the "
        "larger of r/p and p/r (1 = parity; always finite; small groups move it little). An "
        "attribute's gap is the largest over its compared groups; the fairness gap used for "
        "promotion is the largest recall gap over sex, ethnicity and age band (locality follows the "
        f"teams' capacities by design). Counts from 1 to {rules.suppress_below - 1} are shown as "
        f'"<{rules.suppress_below}" and the rates built on them are withheld ("-").'
    )


def render_model_card(
    *,
    model_name: str,
    version: str | None,
    as_of: date,
    horizon_days: int,
    split: Mapping[str, str],
    feature_descriptions: Mapping[str, str],
    report: Mapping[str, Mapping[str, float]],
    fairness: pl.DataFrame,
    gaps: pl.DataFrame,
    rules: FairnessRules,
    decision: str,
    reason: str,
    linkage: str,
    labels: str = "",
) -> str:
    """Markdown model card: Tier 1 summary, then the Tier 2 sections.

    ``fairness`` must be the published table (``Evaluation.published_fairness``).
    """
    chosen = report.get(model_name, {})
    features = "\n".join(f"- `{name}`: {text}" for name, text in feature_descriptions.items())
    return f"""# Early-warning model card: {model_name} (version {version or "registered with this run"})

Trained on the night of {as_of.isoformat()}. Registry decision: **{decision}** - {reason}

## Tier 1 - summary

- **Name**: Council contacts early-warning score ({model_name}).
- **Description**: Every night the tool looks at the contacts each resident has had with
  different council services and, among residents no single service is yet acting on,
  ranks those whose contacts together suggest rising need. A short list per locality team
  goes to caseworkers, who decide whether and how to offer help. The tool never acts on
  anyone by itself and is never used for enforcement.
- **Website**: {TODO}
- **Contact email**: {TODO}

## Tier 2 - detail

### 1. Owner and responsibility

- **Organisation and team**: {TODO} (the council's data team trains and promotes models; locality
  teams review the lists).
- **Senior responsible owner**: {TODO}
- **External supplier**: none; open-source code run by the council.

### 2. Description and rationale

- **What the model does**: estimates the chance that a resident who is known to no service
  today will be in need in the next {horizon_days} days, as the labels below define it: a crisis
  (homelessness approach, safeguarding concern, children's social care referral or plan), an
  enforcement action only where the person's own record shows need beyond that one service, and
  what caseworkers found when they reviewed people.
- **Why**: those events are where contact with the council too often begins; the signals that
  precede them are spread across services that each see only their own part.
- **Alternatives considered**: a transparent rules score (points for services, missed payments,
  rising arrears, hardship applications, repeat contacts) and naive rankings (most contacts, most
  services, highest arrears). Their results on the same held-out period are below; the model is
  used only when it does better than these at the review capacity.

### 3. Decision-making process and human oversight

- **Process integration**: the score orders a review queue; each locality team sees at most
  its configured number of new people a night, with plain-English reasons for each.
- **Human decisions**: a caseworker decides whether to reach out and records the outcome
  (contacted, help offered, already supported, no help needed, could not reach). No letter,
  sanction or change in any council system follows from a score (UK GDPR Article 22).
- **Model choice**: a learned model becomes the nightly champion (the first one too) only if,
  on the held-out period and at the review capacity, it is more precise than the transparent
  rules score and every naive ranking in at least 90% of bootstrap resamples over people, is
  more precise than the current champion, and widens no fairness gap on sex, ethnicity or age
  band by more than the configured tolerance. Otherwise the rules score (or the current
  champion) stays in use and the model waits as challenger with the reason; the data team can
  still promote it, giving their name and reason, which the registry keeps.
- **Appeals and review**: {TODO}

### 4. Data

- **Sources**: the council's own extracts - council tax, housing rent, benefits, contact centre,
  adult social care, children's services, homelessness, anti-social behaviour - and its address
  gazetteer. Records are linked into pseudonymous persons ({linkage}).
- **Labels** (within {horizon_days} days after a monthly snapshot night, from any of the
  person's records; features use only events on or before that night): {labels or "see training.yaml"}
  Enforcement alone is not need: most people who fall behind can't pay, but some won't, and
  both reach a summons; a label that counted every enforcement would teach the model to find
  the ones who won't pay.
- **Training split (by time)**: train {split.get("train_first", "?")} to {split.get("train_last", "?")};
  calibration and model choice {split.get("middle_first", "?")} to {split.get("middle_last", "?")};
  held-out report {split.get("report_first", "?")} to {split.get("report_last", "?")}.
  Train and calibration labels had all closed by the first report night.
- **Excluded**: sex, ethnicity, age, date of birth, locality, names, addresses and identifiers
  are never model inputs. Sex, ethnicity (broad group), age band and locality are used only to
  audit fairness, from the council's own equality-monitoring fields where held.
- **Features** ({len(feature_descriptions)}):

{features}

### 5. Impact assessments

- **Data protection impact assessment**: {TODO}
- **Equality impact assessment**: {TODO} The fairness audit below is an input to it.

### 6. Risks and mitigations

- **Missing people**: residents with few council contacts (or whose records fail to link)
  cannot be seen; recall at capacity below shows how many future crises the lists would reach.
- **Unequal attention**: equality data is held mainly by social care, benefits and
  homelessness records, so "unknown" groups are large and comparisons cover only people those
  services hold. Groups too small to compare reliably are shown but not compared, and gaps are
  smoothed so that a handful of people cannot swing them (see the fairness audit below).
- **Over-reliance on the score**: reviewers see reasons and the contact timeline, not the score
  alone; outcomes are recorded to learn from.
- **Drift**: the model is retrained and compared on the latest complete period; it is only
  promoted when it beats the champion on that period.

#### Performance on the held-out report period

{_metrics_table(report)}

The chosen model's precision at capacity: {_fmt(chosen.get("precision_at_capacity", "-"))};
recall at capacity: {_fmt(chosen.get("recall_at_capacity", "-"))}.

#### Fairness audit (held-out report period, chosen model)

{fairness_method(rules)}

{frame_markdown(fairness)}

Gap per attribute (smoothed ratio to the pooled rate; 1 = parity; "-" = fewer than two groups
large enough to compare):

{frame_markdown(gaps)}
"""
