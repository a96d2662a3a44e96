# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""alx.webstack demo application: one request through every tier.

  GET  /                    which web server answered, and the release it runs
  GET  /healthz             200 while this server can serve pages and reads: it
                            does not depend on any database (the balancers'
                            health check)
  GET  /healthz/databases   the state of the primary and of each replica, with
                            their errors: 200 while writes work, else 503 (nginx
                            shows it to the balancers and monitoring only)
  POST /records             store a record (form field or JSON "note") on the
                            primary; without a primary, 503 with a JSON reason
  GET  /records/<id>        read a record from a replica (the first that
                            answers); when none does, from the primary, and say so

Bad input gets 400 with a JSON reason (a body that is not a JSON object, a
note that is not a string), a body over MAX_BODY bytes gets 413, and ids are
ASCII digits only.

Configuration comes from the environment (the app role's env file):
DB_PRIMARY_HOST, DB_REPLICA_HOSTS (comma-separated), DB_PORT, DB_NAME,
DB_USER, DB_PASSWORD, DB_CONNECT_TIMEOUT, DB_PRIMARY_RETRY, DB_WRITE_SLOTS,
and DB_SSL_CA: with a CA certificate there, every connection uses TLS and
checks that the server's certificate comes from that CA and names its address.
Every request opens its own connections, so a database that comes back is
used again at once. A primary that is gone answers nothing, and writes waiting
on it must not take every thread from pages and reads: at most DB_WRITE_SLOTS
writes per process run at once (more get 503 at once), and a primary that
could not be reached is left alone for DB_PRIMARY_RETRY seconds. Database
errors are logged, never sent to clients.
"""

import json
import os
import re
import socket
import sys
import threading
import time
from urllib.parse import parse_qs

import pymysql

HOSTNAME = socket.gethostname()
# The release is the name of the directory this file was deployed to.
RELEASE = os.path.basename(os.path.dirname(os.path.realpath(__file__)))
# The table is schema.sql's, beside this file: the app role applies it on the
# primary when the release is deployed. The application's account may read and
# write rows, not change tables.


# After the primary could not be reached, writes are refused at once for this
# many seconds before it is tried again: each attempt may wait the whole
# connect timeout (a server that is gone answers nothing), and the workers
# waiting on it would leave none for pages and reads.
PRIMARY_RETRY = float(os.environ.get("DB_PRIMARY_RETRY", "2"))
# Writes that may run at once in this process; the app role leaves one thread
# of each process for pages and reads.
WRITE_SLOTS = threading.BoundedSemaphore(max(1, int(os.environ.get("DB_WRITE_SLOTS", "1"))))
# The largest request body read, in bytes: a note is at most 255 characters,
# which form encoding makes at most 255 * 12 bytes (four UTF-8 bytes, each
# written %XX).
MAX_BODY = 4096
RECORD_PATH = re.compile(r"/records/([0-9]{1,20})", re.ASCII)
_primary = {"down_until": 0.0}
_primary_lock = threading.Lock()


def replicas():
    return [h.strip() for h in os.environ.get("DB_REPLICA_HOSTS", "").split(",") if h.strip()]


def log(message):
    print(message, file=sys.stderr, flush=True)


def connect(host):
    """A connection to one database server, with the settings of the environment."""
    if not host:
        raise RuntimeError("no database server configured")
    ca = os.environ.get("DB_SSL_CA")
    tls = {"ssl_ca": ca, "ssl_verify_cert": True, "ssl_verify_identity": True} if ca else {}
    return pymysql.connect(
        **tls,
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


def connect_primary():
    """A connection to the primary, unless it failed less than PRIMARY_RETRY seconds ago."""
    with _primary_lock:
        if time.monotonic() < _primary["down_until"]:
            raise RuntimeError("the primary could not be reached moments ago; not tried again yet")
    try:
        return connect(os.environ.get("DB_PRIMARY_HOST"))
    except Exception:
        with _primary_lock:
            _primary["down_until"] = time.monotonic() + PRIMARY_RETRY
        raise


def probe(host):
    """Whether a server answers, and what it says about itself."""
    try:
        conn = connect(host)
    except Exception as err:  # any failure means "down", with its reason
        return {"address": host, "ok": False, "error": str(err)}
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@hostname AS server, @@read_only AS read_only")
            row = cur.fetchone()
            cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            cipher = (cur.fetchone() or {}).get("Value") or None
        return {"address": host, "ok": True, "server": row["server"], "read_only": bool(row["read_only"]),
                "tls_cipher": cipher}
    except pymysql.err.MySQLError as err:
        return {"address": host, "ok": False, "error": str(err)}
    finally:
        conn.close()


def respond(start_response, status, body, content_type="application/json", headers=()):
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body, indent=1, default=str) + "\n"
    if isinstance(body, str):
        body = body.encode("utf-8")
    start_response(status, [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
        ("X-App-Release", RELEASE),
        *headers,
    ])
    return [body]


def unavailable(start_response, what):
    """503 with a reason a client can act on; the details stay in the log."""
    return respond(start_response, "503 Service Unavailable",
                   {"error": "%s: the database is not available, try again shortly" % what},
                   headers=[("Retry-After", "5")])


def index(environ, start_response):
    text = "%s\nalx.webstack demo, release %s\n" % (HOSTNAME, RELEASE)
    return respond(start_response, "200 OK", text, "text/plain; charset=utf-8")


def healthz(environ, start_response):
    """This server can serve: the process answers. Databases do not count here,
    so that losing one never takes every web server out of rotation at once."""
    return respond(start_response, "200 OK", {"status": "ok", "host": HOSTNAME, "release": RELEASE})


def healthz_databases(environ, start_response):
    primary = probe(os.environ.get("DB_PRIMARY_HOST"))
    found = [probe(host) for host in replicas()]
    body = {"host": HOSTNAME, "release": RELEASE, "primary": primary, "replicas": found}
    if not primary["ok"]:
        body["status"] = "no-primary"
        return respond(start_response, "503 Service Unavailable", body)
    body["status"] = "ok" if found and all(r["ok"] for r in found) else "degraded"
    return respond(start_response, "200 OK", body)


class BadRequest(ValueError):
    """A request the application refuses, with the status and the reason to say."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status


def read_note(environ):
    """The note of a POST /records body (form field or JSON "note"), stripped."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BadRequest("400 Bad Request", "Content-Length is not a number") from None
    if length > MAX_BODY:
        raise BadRequest("413 Content Too Large", "the body is larger than %d bytes" % MAX_BODY)
    try:
        raw = environ["wsgi.input"].read(length).decode("utf-8") if length > 0 else ""
    except UnicodeDecodeError:
        raise BadRequest("400 Bad Request", "the body is not UTF-8") from None
    if not environ.get("CONTENT_TYPE", "").startswith("application/json"):
        return parse_qs(raw).get("note", [""])[0].strip()
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        raise BadRequest("400 Bad Request", "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("400 Bad Request", "the body must be a JSON object")
    note = data.get("note")
    if note is not None and not isinstance(note, str):
        raise BadRequest("400 Bad Request", "note must be a string")
    return (note or "").strip()


def create_record(environ, start_response):
    try:
        note = read_note(environ)
    except BadRequest as err:
        return respond(start_response, err.status, {"error": str(err)})
    if not note or len(note) > 255:
        return respond(start_response, "400 Bad Request", {"error": "note must be 1 to 255 characters"})
    if not WRITE_SLOTS.acquire(blocking=False):
        log("write refused: every write slot of this process is busy (the primary is slow or gone)")
        return unavailable(start_response, "writes are unavailable")
    try:
        return write_record(note, start_response)
    finally:
        WRITE_SLOTS.release()


def write_record(note, start_response):
    try:
        conn = connect_primary()
    except Exception as err:  # no primary: reads go on, writes wait for it
        log("write refused, the primary cannot be reached: %s" % err)
        return unavailable(start_response, "writes are unavailable")
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO records (note, written_by) VALUES (%s, %s)", (note, HOSTNAME))
            record_id = cur.lastrowid
            cur.execute("SELECT @@hostname AS server")
            server = cur.fetchone()["server"]
    except pymysql.err.MySQLError as err:
        log("write failed on the primary: %s" % err)
        return unavailable(start_response, "the write failed")
    finally:
        conn.close()
    body = {"id": record_id, "note": note, "written_by": HOSTNAME, "written_to": server}
    return respond(start_response, "201 Created", body)


def fetch(host, record_id):
    conn = connect(host)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id, note, written_by, created_at FROM records WHERE id = %s", (record_id,))
            row = cur.fetchone()
            cur.execute("SELECT @@hostname AS server")
            return row, cur.fetchone()["server"]
    finally:
        conn.close()


def read_record(environ, start_response, record_id):
    """From the first replica that answers; from the primary when none does."""
    sources = [("replica", host) for host in replicas()] + [("primary", os.environ.get("DB_PRIMARY_HOST"))]
    for source, host in sources:
        try:
            row, server = fetch(host, record_id)
            break
        except Exception as err:  # down or failing: the next one answers
            log("read from %s %s failed: %s" % (source, host, err))
    else:
        return unavailable(start_response, "reads are unavailable")
    fallback = "no replica is available, read from the primary" if source == "primary" and replicas() else None
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
    if path == "/healthz/databases":
        return healthz_databases(environ, start_response)
    if path == "/records" and method == "POST":
        return create_record(environ, start_response)
    if path.startswith("/records/") and method == "GET":
        wanted = RECORD_PATH.fullmatch(path)
        if not wanted:
            return respond(start_response, "400 Bad Request", {"error": "a record id is a number: /records/123"})
        return read_record(environ, start_response, int(wanted.group(1)))
    return respond(start_response, "404 Not Found", {"error": "no such page: %s %s" % (method, path)})
