# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""alx.webstack demo application: one request through every tier.

  GET  /               which web server answered, and the release it runs
  GET  /healthz        200 with the state of primary and replica, 503 when the
                       primary cannot be reached
  POST /records        store a record (form field or JSON "note") on the primary
  GET  /records/<id>   read a record from the replica; when the replica is down
                       or failing, from the primary, and say so

Configuration comes from the environment (the app role's env file):
DB_PRIMARY_HOST, DB_REPLICA_HOST, DB_PORT, DB_NAME, DB_USER,
DB_PASSWORD, DB_CONNECT_TIMEOUT.
"""

import json
import os
import socket
from urllib.parse import parse_qs

import pymysql

HOSTNAME = socket.gethostname()
# The release is the name of the directory this file was deployed to.
RELEASE = os.path.basename(os.path.dirname(os.path.realpath(__file__)))
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS records ("
    " id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " note VARCHAR(255) NOT NULL,"
    " written_by VARCHAR(64) NOT NULL,"
    " created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"
    ") ENGINE=InnoDB"
)


def connect(role):
    """A connection to the primary or the replica, from the environment."""
    host = os.environ.get("DB_PRIMARY_HOST" if role == "primary" else "DB_REPLICA_HOST")
    if not host:
        raise RuntimeError("no %s configured" % role)
    return pymysql.connect(
        host=host,
        port=int(os.environ.get("DB_PORT", "3306")),
        user=os.environ.get("DB_USER", "app"),
        password=os.environ.get("DB_PASSWORD", ""),
        database=os.environ.get("DB_NAME", "app"),
        connect_timeout=float(os.environ.get("DB_CONNECT_TIMEOUT", "2")),
        read_timeout=5,
        write_timeout=5,
        autocommit=True,
        cursorclass=pymysql.cursors.DictCursor,
    )


def probe(role):
    """Whether a server answers, and what it says about itself."""
    try:
        conn = connect(role)
    except Exception as err:  # any failure means "down", with its reason
        return {"ok": False, "error": str(err)}
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@hostname AS server, @@read_only AS read_only")
            row = cur.fetchone()
        return {"ok": True, "server": row["server"], "read_only": bool(row["read_only"])}
    except pymysql.err.MySQLError as err:
        return {"ok": False, "error": str(err)}
    finally:
        conn.close()


def respond(start_response, status, body, content_type="application/json"):
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body, indent=1, default=str) + "\n"
    if isinstance(body, str):
        body = body.encode("utf-8")
    start_response(status, [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
        ("X-App-Release", RELEASE),
    ])
    return [body]


def index(environ, start_response):
    text = "%s\nalx.webstack demo, release %s\n" % (HOSTNAME, RELEASE)
    return respond(start_response, "200 OK", text, "text/plain; charset=utf-8")


def healthz(environ, start_response):
    primary, replica = probe("primary"), probe("replica")
    body = {"host": HOSTNAME, "release": RELEASE, "primary": primary, "replica": replica}
    if not primary["ok"]:
        body["status"] = "unavailable"
        body["reason"] = "the primary database cannot be reached: %s" % primary["error"]
        return respond(start_response, "503 Service Unavailable", body)
    body["status"] = "ok" if replica["ok"] else "degraded"
    return respond(start_response, "200 OK", body)


def read_note(environ):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length).decode("utf-8") if length else ""
    if environ.get("CONTENT_TYPE", "").startswith("application/json"):
        return (json.loads(raw or "{}").get("note") or "").strip()
    return (parse_qs(raw).get("note", [""])[0]).strip()


def create_record(environ, start_response):
    try:
        note = read_note(environ)
    except ValueError:
        return respond(start_response, "400 Bad Request", {"error": "the body is not valid JSON"})
    if not note or len(note) > 255:
        return respond(start_response, "400 Bad Request", {"error": "note must be 1 to 255 characters"})
    try:
        conn = connect("primary")
    except Exception as err:
        return respond(start_response, "503 Service Unavailable", {"error": "primary unavailable: %s" % err})
    try:
        with conn.cursor() as cur:
            cur.execute(SCHEMA)
            cur.execute("INSERT INTO records (note, written_by) VALUES (%s, %s)", (note, HOSTNAME))
            record_id = cur.lastrowid
            cur.execute("SELECT @@hostname AS server")
            server = cur.fetchone()["server"]
    finally:
        conn.close()
    body = {"id": record_id, "note": note, "written_by": HOSTNAME, "written_to": server}
    return respond(start_response, "201 Created", body)


def fetch(role, record_id):
    conn = connect(role)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id, note, written_by, created_at FROM records WHERE id = %s", (record_id,))
            row = cur.fetchone()
            cur.execute("SELECT @@hostname AS server")
            return row, cur.fetchone()["server"]
    finally:
        conn.close()


def read_record(environ, start_response, record_id):
    fallback = None
    try:
        row, server = fetch("replica", record_id)
        source = "replica"
    except Exception as err:  # replica down or failing: the primary answers
        fallback = "the replica is unavailable (%s), read from the primary" % err
        try:
            row, server = fetch("primary", record_id)
        except Exception as err2:
            return respond(start_response, "503 Service Unavailable",
                           {"error": "no database available: %s" % err2})
        source = "primary"
    if row is None:
        return respond(start_response, "404 Not Found",
                       {"error": "no record %d" % record_id, "read_from": source, "server": server})
    body = {"record": row, "read_from": source, "server": server, "served_by": HOSTNAME}
    if fallback:
        body["fallback"] = fallback
    return respond(start_response, "200 OK", body)


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    method = environ.get("REQUEST_METHOD", "GET")
    if path == "/":
        return index(environ, start_response)
    if path == "/healthz":
        return healthz(environ, start_response)
    if path == "/records" and method == "POST":
        return create_record(environ, start_response)
    if path.startswith("/records/") and method == "GET":
        tail = path[len("/records/"):]
        if tail.isdigit():
            return read_record(environ, start_response, int(tail))
    return respond(start_response, "404 Not Found", {"error": "no such page: %s %s" % (method, path)})
