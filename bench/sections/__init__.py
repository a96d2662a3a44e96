# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The benchmark's sections, in the order a full run measures them.

Each is ``section(lab, args) -> dict``: its figures, ``rows`` (the table lines,
targets included) and optionally ``notes`` (sentences under the table). NOTES
gives the notes of a section's figures again, so that ``--report`` writes what
the code says now beside the figures measured.
"""

from __future__ import annotations

from bench.sections import availability, backups, database, monitoring, scale, speed

SECTIONS = {
    "site": speed.site,
    "heartbeat": speed.heartbeat,
    "throughput": speed.throughput,
    "webfail": availability.webfail,
    "change": availability.change,
    "failover": availability.failover,
    "stress": availability.stress,
    "promotion": database.promotion,
    "backups": backups.backups,
    "alerting": monitoring.alerting,
    "scale": scale.scale_out,
}
NOTES = {
    "site": speed.site_notes,
    "throughput": speed.throughput_notes,
    "failover": availability.failover_notes,
    "stress": availability.stress_notes,
    "promotion": database.promotion_notes,
    "backups": backups.backups_notes,
    "alerting": monitoring.alerting_notes,
    "scale": scale.scale_notes,
}
# The order of the table in BENCHMARKS.md.
TABLE_ORDER = ("failover", "stress", "webfail", "change", "promotion", "backups", "alerting", "throughput", "site", "scale", "heartbeat")
