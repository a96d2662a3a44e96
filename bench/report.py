# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""BENCHMARKS.md and the failover plot, written from results.json alone.

The table is each section's ``rows`` as measured (targets and verdicts
included), in TABLE_ORDER; nothing here judges a figure.
"""

from __future__ import annotations

from pathlib import Path

from bench.baselines import DESCRIPTION
from bench.sections import TABLE_ORDER

VERSION_KEYS = ("date", "commit", "machine", "docker", "debian", "haproxy", "keepalived", "nginx", "mariadb", "wrk",
                "ansible_core")
PLOT = "bench/results/failover.png"
SCALE_PLOT = "bench/results/scale.png"


def markdown(results: dict) -> str:
    versions = results.get("versions", {})
    mark = {True: "yes", False: "**no**", None: ""}
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` from `bench/results/results.json`; a rerun replaces this page.",
        "Every figure was measured in the Docker lab in one run (but those listed below the",
        "versions), each beside its baseline from the same run on the same containers. Ratio",
        "is ours ÷ baseline (for outages and failures, lower is better).",
        "",
        "| | |",
        "| --- | --- |",
    ]
    lines += ["| %s | %s |" % (key.replace("_", "-"), versions.get(key, "")) for key in VERSION_KEYS]
    lines += remeasured(results)
    lines += ["", DESCRIPTION, "",
              "| measurement | alx.webstack | baseline | ratio | target | met |",
              "| --- | --- | --- | --- | --- | --- |"]
    sections = [results[name] for name in TABLE_ORDER if name in results]
    for section in sections:
        for r in section.get("rows", []):
            lines.append("| %s | %s | %s | %s | %s | %s |" % (
                r["measurement"], r["ours"], r["baseline"], "" if r["ratio"] is None else r["ratio"], r["target"],
                mark[r["met"]]))
    if results.get("failover", {}).get("timelines"):
        lines += ["", "One failover (the first trial of each), requests per 100 ms:", "",
                  "![VIP failover timeline](%s)" % PLOT]
    if results.get("scale", {}).get("layouts"):
        lines += ["", "site.yml run time against the number of hosts, with the least-squares lines:", "",
                  "![site.yml time against hosts](%s)" % SCALE_PLOT]
    for section in sections:
        for note in section.get("notes", []):
            lines += ["", note]
    return "\n".join(lines) + "\n"


def remeasured(results: dict) -> list[str]:
    """Lines naming the sections measured again later, each in a run of its own
    (``--only``), with when, at which commit and on which machine: their
    figures are not from the run the table above describes."""
    later = [(name, results[name]["versions"]) for name in TABLE_ORDER
             if name in results and results[name].get("versions")]
    if not later:
        return []
    return ["", "Measured again since, each in a run of its own (`--only`), so not from the run above:", ""] + [
        "- %s: %s, commit %s, %s, %s" % (name, v.get("date", "?"), v.get("commit", "?"), v.get("machine", "?"),
                                         v.get("ansible_core", "?")) for name, v in later]


def plot(results: dict, path: Path) -> None:
    """Requests per 100 ms around one VIP failover, ours above the baseline."""
    timelines = results.get("failover", {}).get("timelines", {})
    if not timelines:
        return
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    fig, axes = plt.subplots(len(timelines), 1, figsize=(9, 2.6 * len(timelines)), sharex=True, squeeze=False)
    labels = {"ours": "alx.webstack (VRRPv3, advert 0.1 s)", "baseline": "baseline (VRRPv2, advert 1 s)"}
    for axis, (config, data) in zip(axes[:, 0], sorted(timelines.items(), key=lambda kv: kv[0] != "ours")):
        rows = data["timeline"]
        times = [r["t"] - data["action_at"] for r in rows]
        answered = [r["answered"] for r in rows]
        axis.bar(times, answered, width=0.1, align="edge", color="#3a7d44", label="good answers (when they arrived)")
        axis.bar(times, [r["failed"] for r in rows], width=0.1, align="edge", color="#c0392b", bottom=answered,
                 label="failed requests (when sent)")
        axis.axvline(0, color="black", linestyle="--", linewidth=1)
        axis.text(0.05, max(max(r["answered"] + r["failed"] for r in rows), 1) * 0.9, "docker kill", fontsize=8)
        axis.set_title("%s: %.2f s without an answer" % (labels.get(config, config), data["longest_gap"]), fontsize=10)
        axis.set_ylabel("per 100 ms")
        axis.legend(loc="lower right", fontsize=8)
    axes[-1, 0].set_xlabel("seconds from killing the VIP holder")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_scale(results: dict, path: Path) -> None:
    """site.yml's fresh and no-change run times against the hosts it sets up, with the fitted lines."""
    data = results.get("scale", {})
    if not data.get("layouts"):
        return
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    fig, axis = plt.subplots(figsize=(7, 4))
    hosts = [r["hosts"] for r in data["layouts"]]
    for run, fitted, colour, label in (("first", "fit_first", "#2c6fbb", "fresh"),
                                       ("second", "fit_second", "#3a7d44", "no change")):
        line = data[fitted]
        axis.plot(hosts, [r[run]["seconds"] for r in data["layouts"]], "o", color=colour, label=label)
        axis.plot([min(hosts), max(hosts)], [line["fixed_s"] + line["per_host_s"] * x for x in (min(hosts), max(hosts))],
                  "-", color=colour, linewidth=1,
                  label="%.1f s + %.2f s per host" % (line["fixed_s"], line["per_host_s"]))
    axis.set_xlabel("hosts site.yml sets up")
    axis.set_ylabel("seconds")
    axis.set_ylim(bottom=0)
    axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results: dict, root: Path) -> list[Path]:
    """BENCHMARKS.md and the plots under ``root``; the paths written."""
    plot(results, root / PLOT)
    plot_scale(results, root / SCALE_PLOT)
    (root / "BENCHMARKS.md").write_text(markdown(results))
    return [root / "BENCHMARKS.md", root / PLOT] + ([root / SCALE_PLOT] if results.get("scale", {}).get("layouts") else [])
