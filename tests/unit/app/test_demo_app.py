# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The demo application (roles/app/files/demo/app.py) called as WSGI: bad input
gets 400 (413 when too large) with a JSON reason, never a 500, and a good
request reaches the database through a mocked cursor."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path
from unittest import mock

import pytest

APP = Path(__file__).resolve().parents[3] / "roles" / "app" / "files" / "demo" / "app.py"


@pytest.fixture(name="app")
def fixture_app(monkeypatch):
    monkeypatch.setenv("DB_PRIMARY_HOST", "192.0.2.31")
    monkeypatch.setenv("DB_REPLICA_HOSTS", "192.0.2.32")
    spec = importlib.util.spec_from_file_location("alx_demo_app", APP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(name="cursor")
def fixture_cursor(app, monkeypatch):
    """The cursor every connection of the application gets."""
    cursor = mock.MagicMock()
    connection = mock.MagicMock()
    connection.cursor.return_value.__enter__.return_value = cursor
    monkeypatch.setattr(app.pymysql, "connect", mock.MagicMock(return_value=connection))
    return cursor


def call(app, method: str, path: str, body: bytes = b"", content_type: str = "application/json",
         length: str | None = None) -> tuple[str, dict, dict]:
    """One request: its status line, headers and JSON body."""
    seen = {}

    def start_response(status, headers):
        seen["status"], seen["headers"] = status, dict(headers)
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "CONTENT_TYPE": content_type,
               "CONTENT_LENGTH": str(len(body)) if length is None else length, "wsgi.input": io.BytesIO(body)}
    answer = b"".join(app.application(environ, start_response))
    return seen["status"], seen["headers"], json.loads(answer)


@pytest.mark.parametrize("body, reason", [
    (b"[1, 2]", "the body must be a JSON object"),
    (b'"a note"', "the body must be a JSON object"),
    (b"7", "the body must be a JSON object"),
    (b"{not json", "the body is not valid JSON"),
    (b'{"note": 12}', "note must be a string"),
    (b'{"note": ["a"]}', "note must be a string"),
    (b'{"note": {"a": 1}}', "note must be a string"),
    (b'{"note": true}', "note must be a string"),
    (b'{"note": ""}', "note must be 1 to 255 characters"),
    (b'{"note": "%s"}' % (b"x" * 256), "note must be 1 to 255 characters"),
    (b'{"note": "\xff\xfe"}', "the body is not UTF-8"),
])
def test_a_bad_json_body_gets_400_with_its_reason(app, cursor, body, reason):
    status, headers, answer = call(app, "POST", "/records", body)
    assert status == "400 Bad Request"
    assert headers["Content-Type"] == "application/json"
    assert answer == {"error": reason}
    cursor.execute.assert_not_called()


def test_a_bad_content_length_gets_400(app, cursor):
    status, _headers, answer = call(app, "POST", "/records", b'{"note": "x"}', length="lots")
    assert (status, answer) == ("400 Bad Request", {"error": "Content-Length is not a number"})
    cursor.execute.assert_not_called()


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_an_oversized_body_gets_413_unread(app, cursor, content_type):
    body = io.BytesIO(b"x" * (app.MAX_BODY + 1))
    seen = {}
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/records", "CONTENT_TYPE": content_type,
               "CONTENT_LENGTH": str(app.MAX_BODY + 1), "wsgi.input": body}
    answer = json.loads(b"".join(app.application(environ, lambda status, headers: seen.update(status=status))))
    assert seen["status"] == "413 Content Too Large"
    assert answer == {"error": "the body is larger than %d bytes" % app.MAX_BODY}
    assert body.tell() == 0
    cursor.execute.assert_not_called()


def test_the_longest_note_fits_the_body_limit_even_form_encoded(app):
    # 255 characters of four UTF-8 bytes each, every byte escaped as %XX.
    from urllib.parse import urlencode  # pylint: disable=import-outside-toplevel
    assert len(urlencode({"note": "\U0001F600" * 255})) <= app.MAX_BODY


@pytest.mark.parametrize("path", ["/records/²", "/records/٣", "/records/1²", "/records/-1", "/records/1.0",
                                  "/records/ 1", "/records/", "/records/1/x", "/records/" + "9" * 21])
def test_a_record_id_that_is_not_ascii_digits_gets_400(app, cursor, path):
    status, _headers, answer = call(app, "GET", path)
    assert status == "400 Bad Request"
    assert answer == {"error": "a record id is a number: /records/123"}
    cursor.execute.assert_not_called()


@pytest.mark.parametrize("body, content_type", [
    (b'{"note": "hello \xc3\xa9"}', "application/json"),
    (b"note=hello+%C3%A9", "application/x-www-form-urlencoded"),
])
def test_a_good_write_reaches_the_primary(app, cursor, body, content_type):
    cursor.lastrowid = 7
    cursor.fetchone.return_value = {"server": "db1"}
    status, _headers, answer = call(app, "POST", "/records", body, content_type)
    assert status == "201 Created"
    assert answer["id"] == 7 and answer["note"] == "hello é" and answer["written_to"] == "db1"
    inserted = [c for c in cursor.execute.call_args_list if c.args[0].startswith("INSERT")]
    assert inserted and inserted[0].args[1][0] == "hello é"


def test_a_record_is_read_by_its_ascii_id_from_the_replica(app, cursor):
    cursor.fetchone.side_effect = [{"id": 42, "note": "n", "written_by": "web1", "created_at": None},
                                   {"server": "db2"}]
    status, _headers, answer = call(app, "GET", "/records/42")
    assert status == "200 OK"
    assert answer["record"]["id"] == 42 and answer["read_from"] == "replica" and answer["server"] == "db2"
    assert cursor.execute.call_args_list[0].args[1] == (42,)
