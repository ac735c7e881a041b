"""What a night did, said plainly: for the log, the Prefect artefact and the
on-call engineer who reads ``run_summary.json`` in the morning."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from early_warning.paths import RunPaths, write_text


class NightHeld(Exception):
    """The night's extracts failed a check: nothing was routed (:mod:`flows.audit`).
    Carries the held night's outcome (its ingest summary and audit)."""

    def __init__(self, outcome: dict[str, Any]) -> None:
        super().__init__(outcome)
        self.outcome = outcome


@dataclass(frozen=True)
class NightlyOutcome:
    """The per-stage summaries of one night, as the flow returned them."""

    stages: dict[str, Any]

    @classmethod
    def from_dict(cls, outcome: dict[str, Any]) -> NightlyOutcome:
        return cls(stages=outcome)

    @property
    def as_of(self) -> str:
        return str(self.stages["as_of"])

    @property
    def skipped_sources(self) -> list[str]:
        return list(self.stages["ingest"]["skipped_sources"])

    @property
    def ran_on(self) -> str:
        """Where the tasks ran, and over how many locality partitions when they fanned out."""
        runner = self.stages.get("runner") or {"fans_out": False, "description": "one task per stage"}
        if not runner["fans_out"]:
            return f"Ran {runner['description']}."
        people = self.stages["partition"]["persons"]
        largest = max(people, key=lambda name: (people[name], name)) if people else "none"
        return (
            f"Fanned out by locality over {runner['description']}: {len(people)} partition(s), "
            f"the largest {largest} ({people.get(largest, 0):,} people)."
        )

    @property
    def reused(self) -> str:
        """What tonight took from an earlier night (incremental nights, :mod:`flows.reuse`)."""
        s = self.stages
        model = s["link"].get("model", "trained tonight")
        parts = [f"linkage model {model}"]
        for stage in ("graph", "features"):
            reuse = s[stage].get("reuse")
            if reuse and reuse.get("from"):
                parts.append(
                    f"{stage}: {reuse['reused']:,} people reused from {reuse['from']}, {reuse['recomputed']:,} recomputed"
                )
            elif reuse and reuse.get("fell_back_from"):
                parts.append(
                    f"{stage}: reuse from {reuse['fell_back_from']} failed its check; all recomputed"
                )
            else:
                parts.append(f"{stage}: all recomputed")
        return "Reused: " + "; ".join(parts) + "."

    @property
    def needs_attention(self) -> bool:
        """True when a source was skipped: the night ran, but not on everything."""
        return bool(self.skipped_sources)

    @property
    def warnings(self) -> list[str]:
        """Failed checks of sources marked warn-only: reported, the night routed anyway."""
        return list((self.stages.get("audit") or {}).get("warnings") or [])

    def write(self, run: RunPaths) -> None:
        """Write ``run_summary.json`` beside the night's outputs (timings vary, so it is not compared)."""
        write_text(json.dumps(self.stages, indent=2, sort_keys=True, default=str), run.run_summary)

    def summary(self) -> str:
        """The plain-text summary the command line prints."""
        s = self.stages
        lines = [f"Night {self.as_of} - outputs in {s['run']}", "", s["ingest"]["summary"], ""]
        if self.skipped_sources:
            lines += [
                f"ATTENTION: skipped sources: {', '.join(self.skipped_sources)} (see ingest_report.json)",
            ]
        lines += [f"WARNING (warn-only check): {line}" for line in self.warnings]
        if self.stages.get("released"):
            lines.append("Released by hand after its checks held it (see the audit log).")
        lines.append("")
        link, known, scored, route = s["link"], s["thresholds"], s["score"], s["route"]
        lines += [
            f"Linkage: {link['records']:,} source records resolved to {link['persons']:,} people.",
            f"Known to a service: {known['known']:,}; early-warning cohort (known to none): {known['cohort']:,}.",
            f"Scored with: {scored['model_description']}",
            f"Scorer in use: {scored.get('scorer', '?')}, because {scored.get('scorer_why', '?')}.",
            f"Scored by: {scored.get('scored_by', '?')}.",
            f"Sent for review: {route['new_items']} new item(s); {route['updated']} open item(s) refreshed; "
            f"{route['held_back_cooldown']} held back by the cool-down.",
        ]
        lines += [f"  {locality}: {count} new" for locality, count in route["new_by_locality"].items()]
        unstaffed = route.get("unstaffed_localities") or {}
        if unstaffed:
            named = ", ".join(f"{locality} ({count})" for locality, count in unstaffed.items())
            lines.append(
                f"ATTENTION: open items in localities nobody works, so nobody sees them: {named}. "
                "Give the locality a team in the users page, or check the gazetteer for a renamed one."
            )
        if route.get("case_files_deleted"):
            lines.append(f"Case files deleted under the retention rule: {route['case_files_deleted']:,}.")
        lines.append(clerical_line(route.get("clerical")))
        lines.append(retention_line(s.get("retention")))
        lines += ["", self.ran_on, self.reused]
        timings = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in s["seconds_per_stage"].items())
        lines += ["", f"Time per stage: {timings}"]
        return "\n".join(lines)


def held_lines(outcome: dict[str, Any]) -> list[str]:
    """A held night on the console: where its files are, then one line per failed check."""
    audit = outcome.get("audit") or {}
    lines = [f"Night {outcome.get('as_of')}: the extracts failed {len(audit.get('failed', []))} check(s):"]
    lines += [f"  HELD BY: {line}" for line in audit.get("failed", [])]
    lines += [f"  warning (warn-only): {line}" for line in audit.get("warnings", [])]
    return lines


def verdict_routed(outcome: NightlyOutcome) -> str:
    """The last line of a routed night."""
    route = outcome.stages["route"]
    warned = f" {len(outcome.warnings)} warn-only check(s) failed (above)." if outcome.warnings else ""
    return (
        f"ROUTED: {route['new_items']} people sent for review, {route['updated']} open item(s) "
        f"refreshed, night {outcome.as_of}.{warned}"
    )


def verdict_held(outcome: dict[str, Any], release_command: str, rerun_command: str) -> str:
    """The last line of a held night."""
    failed = len((outcome.get("audit") or {}).get("failed") or [])
    return (
        f"HELD: {failed} check(s) failed (above). Nothing was sent to caseworkers; the last "
        f"routed list stays. Fix the extracts and re-run: {rerun_command} - or release it: "
        f"{release_command}"
    )


#: Stages after which the review queue already holds the night's list.
AFTER_ROUTING = ("retention", "publish")


def verdict_failed(stage: str, reason: str, log: str, rerun_command: str) -> str:
    """The last line of a failed night: where, why in one line, what reached caseworkers,
    where the traceback is and how to run it again."""
    sent = (
        "The list had reached the review queue; the night's files were not published."
        if stage in AFTER_ROUTING
        else "Nothing was sent to caseworkers."
    )
    return f"FAILED in {stage}: {reason}. {sent} Details: {log}. Safe to re-run: {rerun_command}"


def retention_line(retention: dict[str, Any] | None) -> str:
    """What the identifiers retention rule deleted tonight (:mod:`flows.retention`)."""
    if not retention:
        return "Identifiers retention: not applied."
    nights = retention["nights_pruned"]
    pruned = f" (nights {', '.join(nights)})" if nights else ""
    line = (
        f"Identifiers kept {retention['retention_days']} days: {retention['folders_deleted']:,} "
        f"folder(s) of canonical rows and quarantine deleted{pruned}."
    )
    if "run_folders_deleted" in retention:
        line += (
            f" Night folders kept {retention['runs_retention_days']} days: "
            f"{retention['run_folders_deleted']:,} deleted."
        )
    return line


def clerical_line(clerical: dict[str, Any] | None) -> str:
    """Linkage's accuracy as the data team's labels measure it, or plainly that there is none yet."""
    if not clerical:
        return "Linkage accuracy: clerical review is off (no pairs sampled)."
    sampled = f"{clerical.get('sampled', 0):,} pair(s) sampled tonight for the data team to label"
    if not clerical.get("estimate"):
        return f"Linkage accuracy: {sampled}; no pair labelled yet, so no estimate."
    return (
        f"Linkage, {clerical['sentence']} (night of {clerical['labelled_night']}; 95% intervals). "
        f"{sampled[0].upper()}{sampled[1:]}."
    )


def markdown_summary(outcome: NightlyOutcome) -> str:
    """The Prefect artefact: rows in and quarantined per source, people resolved, cohort,
    surfaced per locality, the scorer named in full, where it ran (and over how many partitions),
    time per stage."""
    s = outcome.stages
    rows = "\n".join(
        f"| {name} | {src['status']} | {src['read']:,} | {src['quarantined']:,} |"
        for name, src in s["ingest"]["per_source"].items()
    )
    localities = "\n".join(f"| {name} | {count} |" for name, count in s["route"]["new_by_locality"].items())
    timings = "\n".join(f"| {name} | {seconds:.1f} |" for name, seconds in s["seconds_per_stage"].items())
    skipped = ", ".join(outcome.skipped_sources) or "none"
    warned = "; ".join(outcome.warnings) or "none"
    released = (
        "\n**Released by hand** after its checks held it (see the audit log).\n" if s.get("released") else ""
    )
    return f"""# Nightly run {outcome.as_of}

**Skipped sources:** {skipped}

**Warn-only checks failed:** {warned}
{released}
| source | status | rows read | quarantined |
|---|---|---:|---:|
{rows}

- Source records resolved: {s["link"]["records"]:,} to {s["link"]["persons"]:,} people
- Known to a service: {s["thresholds"]["known"]:,}; early-warning cohort: {s["thresholds"]["cohort"]:,}
- Model: {s["score"]["model_description"]} (version `{s["score"]["model_version"]}`)
- Scorer in use: {s["score"].get("scorer", "?")}, because {s["score"].get("scorer_why", "?")}
- Scored by: {s["score"].get("scored_by", "?")}
- New review items: {s["route"]["new_items"]}; open items refreshed: {s["route"]["updated"]}
- Case files deleted under the retention rule: {s["route"].get("case_files_deleted", 0):,}
- {clerical_line(s["route"].get("clerical"))}
- {retention_line(s.get("retention"))}
- Runner: {outcome.ran_on}
- {outcome.reused}

| locality | new items |
|---|---:|
{localities}

| stage | seconds |
|---|---:|
{timings}
"""
