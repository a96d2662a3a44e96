# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the probe tool: its arithmetic, and real requests on loopback."""

from __future__ import annotations

import http.server
import json
import threading
import time

import pytest
from labkit import probe

Outcome = probe.Outcome


def outcomes(pattern: str, step: float = 0.1) -> list:
    """'..xx.' -> ok, ok, failed, failed, ok at step-second intervals."""
    return [Outcome(sent=i * step, ok=c == ".") for i, c in enumerate(pattern)]


@pytest.mark.parametrize(
    "pattern, expected",
    [
        ("....", 0.0),
        ("..xx..", 0.2),
        ("x.", 0.1),
        (".xxx.x.", 0.3),
    ],
)
def test_longest_outage_runs_from_first_failure_to_next_success(pattern, expected):
    assert probe.longest_outage(outcomes(pattern), duration=len(pattern) * 0.1) == pytest.approx(expected)


def test_outage_that_lasts_to_the_end_counts_to_the_end():
    assert probe.longest_outage(outcomes("..xxx"), duration=1.0) == pytest.approx(0.8)


def test_longest_outage_ignores_completion_order():
    shuffled = list(reversed(outcomes("..xx..")))
    assert probe.longest_outage(shuffled, duration=0.6) == pytest.approx(0.2)


def test_timeline_buckets_every_request():
    report = probe.summarise(outcomes("....xx....", step=0.25), rate=4, duration=2.5, bucket=1.0)
    assert [(r["t"], r["ok"], r["failed"]) for r in report["timeline"]] == [(0.0, 4, 0), (1.0, 2, 2), (2.0, 2, 0)]
    assert report["ok"] == 8 and report["failed"] == 2 and report["total"] == 10
    assert [r["answered"] for r in report["timeline"]] == [4, 2, 2]


def test_timeline_counts_late_answers_when_they_arrive():
    late = [Outcome(sent=0.0, ok=True), Outcome(sent=0.5, ok=True, elapsed=1.2), Outcome(sent=1.5, ok=False)]
    rows = probe.summarise(late, rate=2, duration=2.0, bucket=1.0)["timeline"]
    assert [(r["ok"], r["failed"], r["answered"]) for r in rows] == [(2, 0, 1), (0, 1, 1)]


def test_longest_gap_is_measured_between_answers_as_they_arrive():
    # Sent every 0.1 s; the third answer comes 0.9 s late (a retransmitted SYN)
    # and the fourth 0.8 s late: no answer arrives between 0.1 and 0.9.
    sent = [Outcome(sent=0.0, ok=True), Outcome(sent=0.1, ok=True), Outcome(sent=0.2, ok=True, elapsed=0.9),
            Outcome(sent=0.3, ok=True, elapsed=0.8), Outcome(sent=0.4, ok=False), Outcome(sent=1.2, ok=True)]
    assert probe.longest_gap(sent) == pytest.approx(1.0)
    assert probe.longest_outage(sent, duration=1.3) == pytest.approx(0.8)
    assert probe.longest_gap([]) == 0.0


@pytest.mark.parametrize(
    "pattern, expected",
    [("....", 0.0), ("..x..", 0.0), (".x.x..x.", 0.5), ("xx", 0.1)],
)
def test_failure_span_runs_from_first_to_last_failure_sent(pattern, expected):
    # Round-robin to a frozen server fails every other request: the span, not
    # the longest run, tells how long clients were affected.
    report = probe.summarise(outcomes(pattern), rate=10, duration=len(pattern) * 0.1)
    assert report["failure_span"] == pytest.approx(expected)


class _Handler(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # noqa: N802 (http.server's naming)
        body = b"web9\nhello\n"
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_probe_against_a_live_server_counts_every_request(server, capsys):
    url = "http://127.0.0.1:%d/" % server.server_address[1]
    assert probe.main([url, "--rate", "50", "--duration", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["total"] == 50 and report["ok"] == 50 and report["failed"] == 0
    assert report["servers"] == {"web9": 50}
    assert report["longest_outage"] == 0.0
    assert abs(report["started_at"] - time.time()) < 30


def test_unexpected_status_is_a_failure(server, capsys, monkeypatch):
    monkeypatch.setattr(_Handler, "status", 503)
    url = "http://127.0.0.1:%d/" % server.server_address[1]
    probe.main([url, "--rate", "20", "--duration", "0.5"])
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] == 0 and report["failed"] == 10
    assert report["failures"][0]["status"] == 503


def test_refused_connection_is_a_failure_with_the_error(capsys):
    probe.main(["http://127.0.0.1:9/", "--rate", "10", "--duration", "0.3", "--timeout", "0.5"])
    report = json.loads(capsys.readouterr().out)
    assert report["failed"] == 3
    assert "ConnectionRefused" in report["failures"][0]["error"]


def test_output_file_holds_the_report(server, tmp_path, capsys):
    out = tmp_path / "report.json"
    probe.main(["http://127.0.0.1:%d/" % server.server_address[1], "--rate", "10", "--duration", "0.2",
                "--output", str(out)])
    assert json.loads(out.read_text()) == json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("args", [["http://x/", "--rate", "0"], ["http://x/", "--duration", "-1"]])
def test_bad_arguments_are_refused(args):
    with pytest.raises(SystemExit):
        probe.parse_args(args)


def test_stop_ends_the_probe_early_and_reports_the_time_it_ran(server):
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    outcomes, ran = probe.run(probe.Target("http://127.0.0.1:%d/" % server.server_address[1]), 20, 30, stop=stop)
    assert 0.4 <= ran <= 1.0
    assert 8 <= len(outcomes) <= 20


def test_kept_answers_are_the_bodies_of_the_good_answers_in_order(server, capsys):
    url = "http://127.0.0.1:%d/" % server.server_address[1]
    probe.main([url, "--rate", "20", "--duration", "0.5", "--keep-answers"])
    report = json.loads(capsys.readouterr().out)
    assert [a["body"] for a in report["answers"]] == ["web9\nhello\n"] * 10
    assert [a["t"] for a in report["answers"]] == sorted(a["t"] for a in report["answers"])


def test_answers_are_only_reported_when_asked_for(server, capsys):
    url = "http://127.0.0.1:%d/" % server.server_address[1]
    probe.main([url, "--rate", "20", "--duration", "0.2"])
    assert "answers" not in json.loads(capsys.readouterr().out)
