# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The promotion drill, for the tests and the benchmark.

The primary is killed while a writer and two readers go through the VIPs,
and playbooks/promote_replica.yml runs at once; then the old primary re-joins
(rejoin_replica.yml) and a planned promotion switches back, so the lab ends
as its inventory says::

    drill = Drill(lab)
    result = drill.failover()          # writer, readers, kill, promote
    drill.rejoin(reseed=True)          # the old primary follows the new one
    drill.switch_back()                # and becomes the primary again
"""

from __future__ import annotations

import json
import shlex
import shutil
import tempfile
import time
from pathlib import Path

import yaml
from labkit import faults
from labkit.client import Probe
from labkit.commands import LAB_INVENTORY, playbook, wait_until
from labkit.lab import Lab

# Writes and reads per second during the drill.
WRITE_RATE = 20
READ_RATE = 10


class Drill:
    """The inventory's primary, the replica promoted in its place and the
    replica that follows whichever is primary. Before a failover they are the
    first and second of the replica group; the playbook may promote the other
    (the one that had received more), and ``failover`` then says so."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.primary = lab.group("mysql_primary")[0]
        self.candidate, self.other = lab.group("mysql_replica")[:2]
        self.writes = "https://%s/records" % lab.vips[0]
        self._promoted_inventory: Path | None = None

    # --- looking at the servers -------------------------------------------------------------

    def sql(self, name: str, statement: str) -> str:
        """SQL as root on a database host; tab-separated rows, no headers."""
        return self.lab.sh(name, "mariadb -N -B -e %s" % shlex.quote(statement)).strip()

    def source_of(self, name: str) -> str:
        """The address a server replicates from; '' when it follows no one."""
        out = self.lab.sh(name, "mariadb -e 'SHOW ALL SLAVES STATUS\\G'")
        found = [line.split(":", 1)[1].strip() for line in out.splitlines()
                 if line.strip().startswith("Master_Host:")]
        return found[0] if found else ""

    def checksum(self, name: str) -> str:
        return self.sql(name, "CHECKSUM TABLE app.records").split("\t")[1]

    def wait_matching(self, primary: str, replica: str, timeout: float = 60) -> None:
        wait_until(lambda: self.checksum(primary) == self.checksum(replica), timeout,
                   what="%s matching %s" % (replica, primary))

    def write(self, note: str) -> dict:
        """One write through the first VIP; the application's answer."""
        return json.loads(self.lab.curl(self.writes, "-X", "POST", "-d", "note=%s" % note))

    # --- the inventory after the promotion ----------------------------------------------------

    @property
    def promoted_inventory(self) -> Path:
        """The lab's inventory as a user changes it after the promotion: the
        candidate in the primary group, the old primary first of the replicas."""
        if self._promoted_inventory is None:
            folder = Path(tempfile.mkdtemp(prefix="alx-promoted-"))
            shutil.copytree(LAB_INVENTORY, folder, dirs_exist_ok=True)
            hosts = yaml.safe_load((folder / "hosts.yml").read_text(encoding="utf-8"))
            tiers = hosts["all"]["children"]
            old = tiers["mysql_primary"]["hosts"].pop(self.primary)
            new = tiers["mysql_replica"]["hosts"].pop(self.candidate)
            tiers["mysql_primary"]["hosts"] = {self.candidate: new}
            tiers["mysql_replica"]["hosts"] = {self.primary: old, **tiers["mysql_replica"]["hosts"]}
            (folder / "hosts.yml").write_text(yaml.safe_dump(hosts), encoding="utf-8")
            self._promoted_inventory = folder
        return self._promoted_inventory

    # --- the drill ----------------------------------------------------------------------------

    def failover(self, semi_sync: bool = True) -> dict:
        """Kill the primary under load and promote at once.

        ``semi_sync=False`` turns the primary's semi-synchronous side off first
        (at run time; the restart after the kill turns it on again). Returns
        the promotion run, its seconds from the kill, the seconds from the kill
        to the first write the new primary acknowledged, the probes' reports
        and the acknowledged writes (id, server, when sent in the writer's
        seconds)."""
        first = self.write("before-the-failover")
        wait_until(lambda: all(self.sql(r, "SELECT COUNT(*) FROM app.records WHERE id = %d" % first["id"]) == "1"
                               for r in (self.candidate, self.other)), 30, what="the first record on the replicas")
        if not semi_sync:
            self.sql(self.primary, "SET GLOBAL rpl_semi_sync_master_enabled = OFF")
        writer = Probe(self.lab, self.writes, rate=WRITE_RATE, duration=600, method="POST", data="note=drill",
                       expect="201", insecure=True, keep_answers=True).start()
        readers = [Probe(self.lab, "https://%s%s" % (vip, path), rate=READ_RATE, duration=600, insecure=True).start()
                   for vip, path in ((self.lab.vips[0], "/"), (self.lab.vips[1], "/records/%d" % first["id"]))]
        time.sleep(3)
        killed = time.time()
        with faults.killed(self.lab, self.primary):
            promotion = playbook(self.lab.inventory, "playbooks/promote_replica.yml", succeed=False)
            promoted = time.time()
            writable = [r for r in (self.candidate, self.other) if self.sql(r, "SELECT @@read_only") == "0"]
            if len(writable) == 1 and writable[0] != self.candidate:
                self.candidate, self.other = self.other, self.candidate
            time.sleep(5)
            for probe in [writer] + readers:
                probe.stop()
            reports = [probe.result() for probe in [writer] + readers]
        killed_at = killed - reports[0]["started_at"]
        acknowledged = [dict(json.loads(answer.pop("body")), t=answer["t"])
                        for answer in reports[0].pop("answers", [])]
        after = [w for w in acknowledged if w["t"] > killed_at and w["written_to"] == self.candidate]
        found = self.sql(self.candidate, "SELECT COUNT(*) FROM app.records WHERE id IN (%s)"
                         % ",".join(str(w["id"]) for w in acknowledged)) if acknowledged else "0"
        return {
            "promotion": promotion,
            "promotion_seconds": round(promoted - killed, 1),
            "first_write_seconds": round(after[0]["t"] - killed_at, 1) if after else None,
            "acknowledged": acknowledged,
            "lost": len(acknowledged) - int(found),
            "writer": reports[0],
            "readers": reports[1:],
        }

    def rejoin(self, reseed: bool = False, succeed: bool = True):
        """rejoin_replica.yml for the old primary, with the promoted inventory."""
        extra = ["-e", "rejoin=%s" % self.primary] + (["-e", "rejoin_reseed=true"] if reseed else [])
        return playbook(self.promoted_inventory, "playbooks/rejoin_replica.yml", *extra, succeed=succeed)

    def switch_back(self):
        """A planned promotion of the old primary (which fences the new one),
        then a re-join of the new one as it is: the lab's inventory is true
        again. Returns the re-join's run."""
        faults.start(self.lab, self.primary)
        playbook(self.promoted_inventory, "playbooks/promote_replica.yml", "-e", "new_primary=%s" % self.primary)
        rejoined = playbook(self.lab.inventory, "playbooks/rejoin_replica.yml", "-e", "rejoin=%s" % self.candidate)
        shutil.rmtree(self.promoted_inventory, ignore_errors=True)
        self._promoted_inventory = None
        return rejoined
