# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Losing the primary: promotion under load, with semi-synchronous
replication and without it (the baseline), and what semi-sync costs a write.

Every section returns its figures and ``rows``: the table lines they give,
each with its target and whether it was met.
"""

from __future__ import annotations

from bench.load import brief, log, ratio, row
from labkit.client import Probe
from labkit.commands import LabError, said
from labkit.promotion import WRITE_RATE, Drill

# Writes per second for the latency comparison, and for how long.
LATENCY_RATE = 20
LATENCY_SECONDS = 20


def drill_once(drill: Drill, semi_sync: bool) -> dict:
    """One failover, then the way back (a copy when the kill left the old
    primary with transactions nobody else has)."""
    result = drill.failover(semi_sync=semi_sync)
    if result["promotion"].returncode != 0:
        raise LabError("the promotion failed:\n%s" % said(result["promotion"])[-3000:])
    drill.rejoin(reseed=True)
    drill.switch_back()
    return {
        "promotion_seconds": result["promotion_seconds"],
        "first_write_seconds": result["first_write_seconds"],
        "acknowledged": len(result["acknowledged"]),
        "lost": result["lost"],
        "failed_reads": sum(r["failed"] for r in result["readers"]),
        "reads": sum(r["total"] for r in result["readers"]),
        "writer": brief(result["writer"]),
    }


def write_latency(drill: Drill, semi_sync: bool) -> dict:
    """Writes through the VIP at a fixed rate, the primary's semi-sync side on or off."""
    drill.sql(drill.primary, "SET GLOBAL rpl_semi_sync_master_enabled = %s" % ("ON" if semi_sync else "OFF"))
    try:
        probe = Probe(drill.lab, drill.writes, rate=LATENCY_RATE, duration=LATENCY_SECONDS, method="POST",
                      data="note=latency", expect="201", insecure=True).start()
        return brief(probe.result())
    finally:
        drill.sql(drill.primary, "SET GLOBAL rpl_semi_sync_master_enabled = ON")


def seconds(value) -> str:
    return "none" if value is None else "%.1f s" % value


def promotion(lab, args) -> dict:  # pylint: disable=unused-argument
    """The primary killed under load and promote_replica.yml started at once,
    with semi-sync (the lab's setting) and without; then write latency."""
    drill = Drill(lab)
    result = {}
    for name, semi_sync in (("semi_sync", True), ("async", False)):
        log("promotion: %s" % name)
        result[name] = drill_once(drill, semi_sync)
    result["latency"] = {name: write_latency(drill, semi_sync)
                         for name, semi_sync in (("semi_sync", True), ("async", False))}
    semi, plain = result["semi_sync"], result["async"]
    lat_semi, lat_plain = result["latency"]["semi_sync"], result["latency"]["async"]
    result["rows"] = [
        row("seconds from the primary's kill to the first acknowledged write (promotion started at once)",
            seconds(semi["first_write_seconds"]), seconds(plain["first_write_seconds"]),
            ratio(semi["first_write_seconds"], plain["first_write_seconds"])),
        row("acknowledged writes lost when the primary is killed (%d writes/s)" % WRITE_RATE,
            "%d of %d" % (semi["lost"], semi["acknowledged"]), "%d of %d" % (plain["lost"], plain["acknowledged"]),
            None, "0", semi["lost"] == 0),
        row("failed reads through both VIPs during the drill",
            "%d of %d" % (semi["failed_reads"], semi["reads"]), "%d of %d" % (plain["failed_reads"], plain["reads"]),
            None, "0", semi["failed_reads"] == 0),
        row("write latency through the VIP at %d writes/s (median / max)" % LATENCY_RATE,
            "%.1f / %.1f ms" % (lat_semi["latency_p50_ms"], lat_semi["latency_max_ms"]),
            "%.1f / %.1f ms" % (lat_plain["latency_p50_ms"], lat_plain["latency_max_ms"]),
            ratio(lat_semi["latency_p50_ms"], lat_plain["latency_p50_ms"])),
    ]
    result["notes"] = promotion_notes(result)
    return result


def promotion_notes(result: dict) -> list[str]:
    return ["Promotion: the baseline column is the same drill with the primary's semi-synchronous side turned off"
            " (asynchronous replication); the promotion playbook itself took %.0f s and %.0f s."
            % (result["semi_sync"]["promotion_seconds"], result["async"]["promotion_seconds"])]
