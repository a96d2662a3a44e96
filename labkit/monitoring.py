# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's monitoring as a user sees it: Prometheus' and Alertmanager's HTTP
APIs on the monitoring host (open to this machine, the lab's admin network),
and the notifications that the webhook receiver on the client recorded
(molecule/resources/lab-webhook.py)."""

from __future__ import annotations

import base64
import json
import os
import ssl
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Callable

from labkit.commands import LabError, wait_until
from labkit.lab import Lab

WEBHOOK_PORT = 9099


@dataclass
class Notification:
    """One alert of one notification as it arrived at the receiver."""

    received: float
    path: str
    status: str
    labels: dict
    annotations: dict

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", "")


def _get(url: str, timeout: float = 10, headers: dict | None = None, context: ssl.SSLContext | None = None) -> bytes:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=timeout,
                                    context=context) as answer:
            return answer.read()
    except OSError as err:
        raise LabError("GET %s failed: %s" % (url, err)) from err


def ca_file(lab: Lab, host: str) -> str:
    """The internal CA's certificate on this machine (the controller), which
    signed the certificates of the stack's internal services."""
    return os.path.join(os.path.expanduser(lab.variables(host).get("webstack_ca_dir", "~/.local/share/alx-webstack/ca")),
                        "ca.crt")


class Monitoring:
    """Prometheus and Alertmanager of the lab's first monitoring host."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.host = lab.group("monitoring")[0]
        settings = lab.variables(self.host)
        address = lab.address(self.host)
        self.prometheus = "https://%s:%s" % (address, settings.get("monitoring_prometheus_port", 9090))
        self.alertmanager = "https://%s:%s" % (address, settings.get("monitoring_alertmanager_port", 9093))
        # HTTPS with the internal CA's certificate, and the web login.
        self.user = settings.get("monitoring_web_user", "admin")
        self.password = settings["monitoring_web_password"]
        self.context = ssl.create_default_context(cafile=ca_file(lab, self.host))
        self.headers = {"Authorization": "Basic " + base64.b64encode(
            ("%s:%s" % (self.user, self.password)).encode()).decode()}
        self.webhook = "http://%s:%s/" % (lab.address(lab.client), WEBHOOK_PORT)

    def get(self, url: str) -> bytes:
        """GET from Prometheus or Alertmanager: the certificate checked, logged in."""
        return _get(url, headers=self.headers, context=self.context)

    # --- Prometheus ---------------------------------------------------------------------------

    def api(self, path: str, **params) -> dict | list:
        """Prometheus' API: the ``data`` of a successful answer."""
        url = "%s/api/v1/%s%s" % (self.prometheus, path, ("?" + urllib.parse.urlencode(params)) if params else "")
        answer = json.loads(self.get(url))
        if answer.get("status") != "success":
            raise LabError("%s answered %s" % (url, answer))
        return answer["data"]

    def query(self, expression: str) -> list[dict]:
        """An instant query's series, each ``{"metric": labels, "value": [time, "value"]}``."""
        return self.api("query", query=expression)["result"]

    def targets(self) -> list[dict]:
        return self.api("targets", state="active")["activeTargets"]

    def alerts(self, state: str = "firing") -> list[dict]:
        """Prometheus' alerts in ``state`` (firing or pending)."""
        return [alert for alert in self.api("alerts")["alerts"] if alert["state"] == state]

    # --- Alertmanager -------------------------------------------------------------------------

    def alertmanager_alerts(self) -> list[dict]:
        return json.loads(self.get("%s/api/v2/alerts" % self.alertmanager))

    # --- the webhook receiver -----------------------------------------------------------------

    def notifications(self, since: float = 0.0) -> list[Notification]:
        """Every alert of every notification received after ``since`` (epoch seconds)."""
        found = []
        for line in _get(self.webhook).decode().splitlines():
            record = json.loads(line)
            if record["received"] < since:
                continue
            for alert in record["payload"].get("alerts", []):
                found.append(Notification(record["received"], record["path"], alert["status"],
                                          alert.get("labels", {}), alert.get("annotations", {})))
        return found

    def notified(self, alertname: str, since: float, status: str = "firing", timeout: float = 120,
                 **labels: str) -> Notification:
        """Wait for the first notification of ``alertname`` in ``status`` whose
        labels include ``labels``, received after ``since``; return it."""
        def arrived():
            return next((n for n in self.notifications(since)
                         if n.alertname == alertname and n.status == status
                         and all(n.labels.get(k) == v for k, v in labels.items())), None)
        return wait_until(arrived, timeout, 1, "%s %s notification %s" % (alertname, status, labels or ""))

    def quiet(self, ignore: tuple[str, ...] = (), timeout: float = 180) -> None:
        """Wait until no alert fires in Prometheus (but those named in ``ignore``)."""
        def none_firing():
            return not [a for a in self.alerts() if a["labels"]["alertname"] not in ignore]
        wait_until(none_firing, timeout, 2, "no alert firing")

    def fired_between(self, alertname: str, start: float, end: float | None = None) -> bool:
        """Whether ``alertname`` was firing in Prometheus at any evaluation
        between ``start`` and ``end`` (now by default)."""
        end = end or time.time()
        window = max(1, int(end - start) + 1)
        return bool(self.api("query", query='max_over_time(ALERTS{alertname="%s",alertstate="firing"}[%ds])'
                             % (alertname, window), time=end)["result"])


# --- faults and what they must raise -----------------------------------------------------------

@dataclass
class Fault:
    """A fault of the lab, the way back, and the alerts it must raise: each
    (alertname, labels that name the culprit, severity)."""

    name: str
    inflict: Callable[[], object]
    repair: Callable[[], object]
    expected: list[tuple[str, dict, str]]


def faults(lab: Lab) -> dict[str, Fault]:
    """The faults the monitoring drill knows, on the lab's first replica, web
    server and balancers, and its last replica (the database cluster's member)."""
    replica, web = lab.group("mysql_replica")[0], lab.group("webservers")[0]
    member = lab.group("mysql_replica")[-1]
    first, second = lab.balancers[0], lab.balancers[1]
    backup = (lab.group("backup") or [""])[0]
    key = "/var/lib/webstack-backup/.ssh/id_ed25519"

    def sh(host: str, command: str) -> Callable[[], str]:
        return lambda: lab.sh(host, command)
    return {
        "replica_sql": Fault("the SQL thread of %s stopped" % replica,
                             sh(replica, "mariadb -e 'STOP SLAVE SQL_THREAD'"),
                             sh(replica, "mariadb -e 'START SLAVE SQL_THREAD'"),
                             [("ReplicaSQLThreadStopped", {"instance": replica}, "critical")]),
        "nginx": Fault("nginx stopped on %s" % web, sh(web, "systemctl stop nginx"), sh(web, "systemctl start nginx"),
                       [("WebServerDown", {"instance": web}, "warning"),
                        ("BackendServerDown", {"server": web}, "warning")]),
        "haproxy": Fault("HAProxy stopped on %s" % first, sh(first, "systemctl stop haproxy"),
                         sh(first, "systemctl start haproxy"),
                         [("BalancerDown", {"instance": first}, "critical"),
                          ("VIPsOnOneBalancer", {"instance": second}, "warning")]),
        # The backup host's key moved aside: the backup that runs then fails
        # (no database server lets it in); the one after the repair succeeds.
        "backup": Fault("a backup on %s that no database server lets in" % backup,
                        sh(backup, "mv %s %s.off && systemctl start webstack-backup.service || true" % (key, key)),
                        sh(backup, "mv %s.off %s && systemctl start webstack-backup.service" % (key, key)),
                        [("BackupFailed", {"instance": backup}, "warning")]),
        # Corosync gone on a database server: the others carry on with quorum
        # and see it offline; Pacemaker there rejoins once Corosync runs.
        "cluster_member": Fault("Corosync killed on %s" % member,
                                sh(member, "systemctl kill --signal=KILL corosync"),
                                sh(member, "systemctl start corosync pacemaker"),
                                [("ClusterMemberOffline", {"node": member}, "critical")]),
        "keepalived": Fault("keepalived stopped on %s (HAProxy still serves)" % second,
                            sh(second, "systemctl stop keepalived"), sh(second, "systemctl start keepalived"),
                            [("VIPsOnOneBalancer", {"instance": first}, "warning")]),
    }


# Alerts that say nothing about the stack in the lab: its disk is the machine's.
UNRELATED = ("DiskFilling",)


def drill(monitoring: Monitoring, chosen: list[Fault], timeout: float = 120) -> dict:
    """Inflict ``chosen`` at once on a quiet lab, wait for the notification of
    every alert they must raise, repair them, put the VIPs back on their
    masters and wait until each alert's notification says resolved. Returns
    the notifications, the fault's window and the seconds from the fault (and
    from its repair) to each notification.

    The faults are repaired one after the other, and a slow repair (a backup
    that runs) lets the alerts of those repaired before it resolve
    meanwhile: each resolution counts from its own fault's repair."""
    lab = monitoring.lab
    monitoring.quiet(ignore=UNRELATED)
    expected = [alert for fault in chosen for alert in fault.expected]
    started = time.time()
    repairing = {}
    try:
        for fault in chosen:
            fault.inflict()
        fired = {name: monitoring.notified(name, started, "firing", timeout, **labels)
                 for name, labels, _severity in expected}
    finally:
        ended = time.time()
        for fault in chosen:
            repairing.update({name: time.time() for name, _labels, _severity in fault.expected})
            fault.repair()
    for vip, holder in lab.steady().items():
        lab.settle(vip, holder)
    resolved = {name: monitoring.notified(name, repairing[name], "resolved",
                                          max(1.0, repairing[name] + timeout - time.time()), **labels)
                for name, labels, _severity in expected}
    return {"started": started, "ended": ended, "fired": fired, "resolved": resolved,
            "severity": {name: severity for name, _labels, severity in expected},
            "delay": {name: round(n.received - started, 1) for name, n in fired.items()},
            "resolved_after": {name: round(n.received - repairing[name], 1) for name, n in resolved.items()}}
