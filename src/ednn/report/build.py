"""docs/reproduction.md from the result files (docs/results/*.json) and the committed models.

The markdown holds no date of its own: regenerated from the same files it is the same text, so a
test can tell when a result changed and the report was not regenerated.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ednn.core.errors import EDNNError
from ednn.io.atomic import write_text
from ednn.io.model_file import stored_config
from ednn.report.claims import CLAIMS, COMMANDS, FIGURES, NOT_REPRODUCED, TABLE_1, Claim

REPORT = Path("docs/reproduction.md")
SUMMARY_FIGURE = Path("docs/figures/reproduction-summary.png")


def load_results(root: Path) -> dict[str, dict]:
    """Every docs/results/*.json under `root`, by file name; a folder without them is an EDNNError."""
    folder = root / "docs/results"
    if not folder.is_dir():
        raise EDNNError(f"{root} holds no docs/results: run `ednn report` in an ednn checkout (or give --root)")
    return {path.name: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def lookup(data: Any, keys: tuple[str | int, ...]) -> Any:
    """data[k1][k2]… or None where a key is missing."""
    for key in keys:
        try:
            data = data[key]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def ours(claim: Claim, results: dict[str, dict]) -> float | None:
    """Our value for `claim`, in its unit, or None if not measured."""
    value = lookup(results.get(claim.result), claim.keys)
    return None if not isinstance(value, (int, float)) else float(value) * claim.scale


def provenance(name: str, data: dict) -> dict[str, str]:
    """Command, machine, date and wall time a result file records ('not recorded' where it does not)."""
    nested = [v for v in data.values() if isinstance(v, dict)]  # a file of several runs records each one's
    made = data.get("made_with") if isinstance(data.get("made_with"), dict) else {}
    made = made or next((v for v in nested if "date" in v), {})
    machine = data.get("machine") or made.get("machine")
    date = data.get("date") or made.get("date")
    if isinstance(machine, dict):  # a platform record: its processor, cores and threads, and when
        date = date or str(machine.get("date", ""))[:10]
        machine = (
            f"{machine.get('processor')}, {machine.get('cpu_count')} cores, {machine.get('torch_threads')} threads"
        )
    wall = data.get("wall_seconds", data.get("wall_s"))
    if wall is None and nested and all(isinstance(v.get("wall_seconds"), (int, float)) for v in nested):
        wall = sum(v["wall_seconds"] for v in nested)
    return {
        "command": str(data.get("command") or COMMANDS.get(name, "not recorded")),
        "machine": str(machine or "not recorded"),
        "date": str(date or "not recorded"),
        "wall": f"{wall:.0f} s" if isinstance(wall, (int, float)) else "not recorded",
    }


def _number(value: float) -> str:
    return f"{value:.3g}" if 1e-3 <= abs(value) < 1e4 or value == 0 else f"{value:.2e}"


def claims_table(results: dict[str, dict]) -> list[str]:
    """Markdown rows: section, quantity, the paper's value as stated, ours, ours ÷ paper, source file."""
    rows = ["| § | quantity | paper | ours | ours ÷ paper | result file |", "| --- | --- | --- | --- | --- | --- |"]
    for claim in CLAIMS:
        value = ours(claim, results)
        shown = (
            f"not measured (`{COMMANDS.get(claim.result, claim.result)}`)"
            if value is None
            else (f"{_number(value)} {claim.unit}")
        )
        ratio = "" if value is None or not claim.paper_value else _number(value / claim.paper_value)
        quantity = claim.quantity + (f" — {claim.note}" if claim.note else "")
        rows.append(f"| {claim.section} | {quantity} | {claim.paper} | {shown} | {ratio} | {claim.result} |")
    return rows


def table_1(root: Path) -> list[str]:
    """The paper's Table 1 beside the settings recorded in our recommended models."""
    rows = [
        "| model | | training examples | batch | network | optimizer | learning rate | loss | epochs |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, file, *paper in TABLE_1:
        rows.append(f"| {name} | paper | " + " | ".join(paper) + " |")
        config = stored_config(root / "models" / file)
        training, split = config["info"].get("training", {}), config["info"].get("split", {})
        net = config["net"]["name"]
        examples = sum(split.get(key, 0) for key in ("n_train", "n_val", "n_test"))
        lr = f"{training.get('lr')} → {training.get('lr_min')} ({training.get('schedule', '')})"
        cells = [
            f"ours (`models/{file}`)",
            f"{split.get('n_train', '?')} of {examples}",
            training.get("batch_size", "?"),
            net,
            training.get("optimizer", "?"),
            lr,
            training.get("loss", "?"),
            training.get("epochs", "?"),
        ]
        rows.append("| | " + " | ".join(map(str, cells)) + " |")
    return rows


def summary_figure(results: dict[str, dict], path: Path) -> Path:
    """A bar chart of ours ÷ paper (log scale) for every claim with a value on both sides."""
    from ednn.analysis.plots import pyplot

    pairs = [(c, ours(c, results)) for c in CLAIMS if c.paper_value]
    pairs = [(c, v) for c, v in pairs if v is not None]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(pairs) + 1.2))
    ratios = [v / c.paper_value for c, v in pairs]
    colours = ["tab:green" if r <= 1 else "tab:red" for r in ratios]
    ax.barh(range(len(pairs)), [r - 1 for r in ratios], left=1.0, color=colours)  # bars from 1 to the ratio
    ax.set_yticks(range(len(pairs)), [f"{c.section}: {c.paper}" for c, _ in pairs], fontsize=8)
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("ours ÷ paper (below 1: smaller error or less time than the paper's)")
    ax.invert_yaxis()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def report_markdown(root: Path, results: dict[str, dict] | None = None) -> str:
    """The whole report as markdown (`results`: `load_results(root)`, read here if not given)."""
    results = load_results(root) if results is None else results
    lines = [
        "# Reproduction report: the paper's numbers beside ours",
        "",
        "Generated by `ednn report` from the result files the benchmarks write (`docs/results/*.json`)",
        "and the committed models' metadata; do not edit it by hand — rerun a benchmark, then `ednn report`.",
        "Paper: Mills et al., *Chem. Sci.* 2019, 'Extensive deep neural networks for transferring small",
        "scale learning to large scale systems'; its values are quoted as it states them.",
        "",
        "## Every number",
        "",
        *claims_table(results),
        "",
        f"![ours ÷ paper]({SUMMARY_FIGURE.relative_to('docs')})",
        "",
        "## Training settings (the paper's Table 1)",
        "",
        *table_1(root),
        "",
        "## Figures",
        "",
    ]
    for label, file, caption in FIGURES:
        if (root / "docs/figures" / file).is_file():
            lines += [f"**{label}** — {caption}.", "", f"![{label}](figures/{file})", ""]
        else:
            lines += [f"**{label}** — {caption}: not made yet.", ""]
    lines += ["## Findings stated by the benchmarks", ""]
    for name, data in results.items():  # a result file's own verdicts, {subject: [statement, ...]}
        for subject, statements in (data.get("verdicts") or {}).items():
            claim = f" ({data['paper']})" if isinstance(data.get("paper"), str) else ""
            lines.append(f"- **{subject}**{claim}, `{name}`: " + "; ".join(statements) + ".")
    lines += ["", "## What we could not reproduce, and why", "", *[f"- {line}" for line in NOT_REPRODUCED], ""]
    lines += ["## Where each result comes from", "", "| result file | command | machine | date | wall time |"]
    lines.append("| --- | --- | --- | --- | --- |")
    for name, data in results.items():
        made = provenance(name, data)
        lines.append(f"| {name} | `{made['command']}` | {made['machine']} | {made['date']} | {made['wall']} |")
    return "\n".join(lines) + "\n"


def write_report(root: str | Path = ".") -> list[Path]:
    """Write docs/reproduction.md and its summary figure under `root`; returns both paths."""
    root = Path(root)
    results = load_results(root)
    text = report_markdown(root, results)
    figure = summary_figure(results, root / SUMMARY_FIGURE)
    return [write_text(root / REPORT, text), figure]


def is_current(root: str | Path = ".") -> bool:
    """True when docs/reproduction.md is what the result files make now."""
    root = Path(root)
    text = report_markdown(root)
    return (root / REPORT).is_file() and (root / REPORT).read_text() == text
