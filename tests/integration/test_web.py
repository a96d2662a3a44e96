# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The web tier: nginx in front of the demo application, which writes to the
primary and reads from the replica, and the app role's releases."""

from __future__ import annotations

import base64
import json
import shlex
import time

import pytest
from conftest import LAB, address, broken_release, group, host, release_linked, sha256, site, sql, variables
from labkit.client import Probe
from labkit.commands import playbook, recap, said, wait_until

PRIMARY = group("mysql_primary")[0]
REPLICAS = group("mysql_replica")
REPLICA = REPLICAS[0]

WEB = group("webservers")


def curl(url: str, *options: str, source=None) -> dict:
    """An HTTP request from the client (or ``source``): status, headers, body."""
    origin = source or host(group("clients")[0])
    out = origin.check_output(" ".join(["curl -sS -m 10 -D -"] + [shlex.quote(o) for o in (*options, url)]))
    head, _sep, body = out.replace("\r\n", "\n").partition("\n\n")
    lines = head.split("\n")
    headers = {}
    for line in lines[1:]:
        name, _colon, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return {"status": int(lines[0].split()[1]), "headers": headers, "body": body}


def direct(web: str, path: str, *options: str, source: str | None = None) -> dict:
    """A request to a web server itself (not through HAProxy), from the first
    balancer (or ``source``): the firewall lets only balancers and monitoring
    reach a web server's HTTP port."""
    return curl("http://%s%s" % (address(web), path), *options, source=host(source or group("loadbalancers")[0]))


def body_json(answer: dict) -> dict:
    return json.loads(answer["body"])


@pytest.mark.parametrize("web", WEB)
def test_index_names_the_server_that_answered(web):
    answer = direct(web, "/")
    assert answer["status"] == 200
    assert answer["body"].split("\n")[0] == web
    assert "release " in answer["body"]
    assert answer["headers"]["x-served-by"] == web


def databases(web: str) -> dict:
    """The application's detailed health, asked on the web server itself."""
    return json.loads(host(web).check_output("curl -sS -m 10 http://127.0.0.1/healthz/databases"))


@pytest.mark.parametrize("web", WEB)
def test_health_detail_reports_every_database_to_the_host_and_the_balancers(web):
    health = databases(web)
    assert health["status"] == "ok"
    assert health["primary"]["ok"] and health["primary"]["read_only"] is False
    assert [r["server"] for r in health["replicas"]] == REPLICAS
    assert all(r["ok"] and r["read_only"] for r in health["replicas"])
    lb = group("loadbalancers")[0]
    assert host(lb).check_output("curl -sS -o /dev/null -w '%%{http_code}' http://%s/healthz/databases"
                                 % address(web)) == "200"


@pytest.mark.parametrize("vip", LAB.vips)
def test_health_detail_is_refused_through_a_vip(vip):
    answer = curl("https://%s/healthz/databases" % vip, "-k")
    assert answer["status"] == 403
    assert "172.30." not in answer["body"]


@pytest.mark.parametrize("web", WEB)
def test_health_detail_is_given_to_monitoring(web):
    answer = direct(web, "/healthz/databases", source=group("monitoring")[0])
    assert answer["status"] == 200 and body_json(answer)["status"] == "ok"


@pytest.mark.parametrize("web", WEB)
def test_nginx_hides_its_version_and_sends_security_headers(web):
    headers = direct(web, "/")["headers"]
    assert headers["server"] == "nginx"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert "content-security-policy" in headers


@pytest.mark.parametrize("web", WEB)
def test_static_files_come_from_nginx(web):
    answer = direct(web, "/static/index.html")
    assert answer["status"] == 200 and "<h1>alx.webstack</h1>" in answer["body"]
    assert "x-app-release" not in answer["headers"]


@pytest.mark.parametrize("web", WEB)
def test_stub_status_answers_on_loopback_only(web):
    assert "Active connections" in host(web).check_output("curl -sS http://127.0.0.1:8081/stub_status")
    refused = host(group("loadbalancers")[0]).run("curl -sS -m 3 http://%s:8081/stub_status" % address(web))
    assert refused.rc != 0


def test_forwarded_for_is_ignored_from_hosts_that_are_not_balancers():
    web, monitor = WEB[0], group("monitoring")[0]
    direct(web, "/?xff-check", "-H", "X-Forwarded-For: 203.0.113.9", source=monitor)
    log = host(web).check_output("grep -F 'xff-check' /var/log/nginx/access.log | tail -n 1")
    assert log.startswith(address(monitor) + " "), log


def test_write_on_one_server_read_on_the_other_from_the_replica():
    note = "note-%d" % time.time_ns()
    written = direct(WEB[0], "/records", "-X", "POST", "--data-urlencode", "note=" + note)
    assert written["status"] == 201
    record = body_json(written)
    assert record["written_by"] == WEB[0] and record["written_to"] == PRIMARY

    def read():
        answer = direct(WEB[-1], "/records/%d" % record["id"])
        return body_json(answer) if answer["status"] == 200 else None

    found = wait_until(read, timeout=10, interval=0.2, what="the record on the replica")
    assert found["record"]["note"] == note
    assert found["read_from"] == "replica" and found["server"] == REPLICA
    assert found["served_by"] == WEB[-1]


def write(url: str, note: str) -> dict:
    return curl(url, "-k", "-X", "POST", "--data-urlencode", "note=" + note)


def test_reads_go_to_the_next_replica_and_then_to_the_primary():
    web = WEB[0]
    record = body_json(direct(web, "/records", "-X", "POST", "--data-urlencode", "note=fallback"))
    wait_until(lambda: all(sql(r, "SELECT COUNT(*) FROM app.records WHERE id = %d" % record["id"]) == "1"
                           for r in REPLICAS), timeout=20, what="the record on every replica")
    stopped = []
    try:
        for replica in REPLICAS:
            answer = body_json(direct(web, "/records/%d" % record["id"]))
            assert answer["read_from"] == "replica" and answer["server"] == replica, answer
            host(replica).check_output("systemctl stop mariadb")
            stopped.append(replica)
        answer = body_json(direct(web, "/records/%d" % record["id"]))
        assert answer["read_from"] == "primary" and answer["server"] == PRIMARY
        assert answer["fallback"] == "no replica is available, read from the primary"
        health = databases(WEB[0])
        assert health["status"] == "degraded" and not any(r["ok"] for r in health["replicas"])
    finally:
        for replica in stopped:
            host(replica).check_output("systemctl start mariadb")
    wait_until(lambda: databases(WEB[0])["status"] == "ok", timeout=60, what="every replica back")
    assert body_json(direct(web, "/records/%d" % record["id"]))["server"] == REPLICAS[0]


def test_without_the_primary_pages_and_reads_go_on_and_writes_get_a_json_503():
    record = body_json(write("https://%s/records" % LAB.vips[0], "before-the-primary-stops"))
    wait_until(lambda: sql(REPLICAS[0], "SELECT COUNT(*) FROM app.records WHERE id = %d" % record["id"]) == "1",
               timeout=20, what="the record on the replica")
    probes = [Probe(LAB, "https://%s%s" % (vip, path), rate=10, duration=12, insecure=True).start()
              for vip in LAB.vips for path in ("/", "/records/%d" % record["id"])]
    time.sleep(1)
    host(PRIMARY).check_output("systemctl stop mariadb")
    try:
        time.sleep(3)
        refused = write("https://%s/records" % LAB.vips[1], "while-the-primary-is-down")
        assert refused["status"] == 503 and refused["headers"]["retry-after"] == "5"
        assert "writes are unavailable" in body_json(refused)["error"]
        assert "172.30." not in refused["body"], refused["body"]
        assert curl("https://%s/healthz" % LAB.vips[0], "-k")["status"] == 200
        reports = [probe.result() for probe in probes]
    finally:
        host(PRIMARY).check_output("systemctl start mariadb")
    for report in reports:
        assert report["failed"] == 0 and report["ok"] > 100, report["failures"][:5]
    # No restart: the next write after the primary is back succeeds.
    back = wait_until(lambda: write("https://%s/records" % LAB.vips[0], "primary-back")["status"] == 201,
                      timeout=60, what="writes through the VIP again")
    assert back


@pytest.mark.parametrize("web", WEB)
def test_secrets_reach_the_app_through_systemd_and_neither_it_nor_nginx_can_touch_the_file(web):
    config = variables(web)
    box = host(web)
    env = box.file("/srv/app/shared/app.env")
    assert (env.user, env.group, env.mode) == ("root", "root", 0o600)
    assert 'DB_PASSWORD="%s"' % config["mysql_app_password"] in env.content_string
    assert not box.run("runuser -u app -- sh -c 'echo X=1 >> /srv/app/shared/app.env'").succeeded
    # nginx's user is in the app's group, for the socket.
    assert not box.run("runuser -u www-data -- cat /srv/app/shared/app.env").succeeded


@pytest.mark.parametrize("web", WEB)
def test_the_application_does_not_run_as_root(web):
    users = host(web).check_output("ps -o user= -C gunicorn").split()
    assert users and set(users) == {"app"}


@pytest.mark.refusal
def test_an_archive_that_is_not_the_one_named_is_refused_before_anything_changes():
    """Refused on the controller, before the host is touched. The right
    checksum lets an archive through: the failing release of test_deploy.py
    shows it."""
    archive = broken_release()
    wrong = "0" * 64
    before = release_linked(WEB[0], "current")
    refused = site("--tags", "web", "--limit", WEB[0], "-e", "app_source=archive", "-e", "app_archive=" + archive,
                   "-e", "app_version=checked-1", "-e", "app_archive_sha256=" + wrong, succeed=False)
    assert refused.returncode != 0
    assert "has SHA-256 %s, not app_archive_sha256 %s" % (sha256(archive), wrong) in said(refused)
    assert recap(refused.stdout)[WEB[0]] == 0
    assert not host(WEB[0]).file("/srv/app/releases/checked-1").exists
    assert release_linked(WEB[0], "current") == before


def test_a_password_with_spaces_quotes_dollars_and_hashes_reaches_the_service_as_given(tmp_path):
    """The environment file as the app role writes it, read back by systemd
    itself (EnvironmentFile=), for a password no shell or parser could take
    unquoted."""
    tricky = "a b'c\"d$e${HOME}#f\\g`id` "
    folder = "/run/alx-env-test"
    play = tmp_path / "env.yml"
    play.write_text(json.dumps([{
        "name": "Write the environment file of a test application", "hosts": WEB[0], "become": True,
        "gather_facts": False,
        "vars": {"app_root": folder, "app_db_password": tricky, "app_db_tls_ca": "",
                 "app_db_primary_host": address(PRIMARY), "app_db_replica_hosts": []},
        "tasks": [
            {"name": "Make its directory",
             "ansible.builtin.file": {"path": folder + "/shared", "state": "directory", "mode": "0755"}},
            {"name": "Write it",
             "ansible.builtin.include_role": {"name": "alx.webstack.app", "tasks_from": "env.yml"}}]}]))
    try:
        playbook(LAB.inventory, str(play))
        seen = host(WEB[0]).check_output(
            "systemd-run --quiet --wait --pipe -p EnvironmentFile=%s/shared/app.env /usr/bin/env"
            " | grep '^DB_PASSWORD=' | base64 -w0" % folder)
        assert base64.b64decode(seen).decode() == "DB_PASSWORD=%s\n" % tricky
    finally:
        host(WEB[0]).run("rm -rf %s" % folder)
