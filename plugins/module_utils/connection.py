# -*- coding: utf-8 -*-
# Copyright: alx.webstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PyMySQL connections from the shared login_* options, with errors a user can act on."""

from __future__ import absolute_import, annotations, division, print_function

import os
import shutil
import subprocess

__metaclass__ = type

try:
    import pymysql
    import pymysql.cursors
except ImportError:  # pragma: no cover - exercised on hosts without PyMySQL
    pymysql = None

HAS_PYMYSQL = pymysql is not None

MISSING_PYMYSQL = (
    "The Python library PyMySQL is required on the host that runs this module "
    "(%s): install it there, e.g. with the package python3-pymysql on Debian and Ubuntu."
)


def missing_pymysql():
    """The message for a host without PyMySQL, naming that host."""
    return MISSING_PYMYSQL % os.uname()[1]


class ConnectionFailure(Exception):
    """A connection that could not be made, explained in one sentence."""


def login_argument_spec(prefix="login"):
    """The connection options, for the replica (``login``) or another server."""
    return {
        "%s_user" % prefix: dict(type="str"),
        "%s_password" % prefix: dict(type="str", no_log=True),
        "%s_host" % prefix: dict(type="str"),
        "%s_port" % prefix: dict(type="int", default=3306),
        "%s_unix_socket" % prefix: dict(type="str"),
    }


# Where servers put their socket when their configuration does not say
# (Debian and Ubuntu, older Debian, the Red Hat family): directories only root
# and the server write to. Never /tmp, where any local user could leave a
# socket of their own for root to send its credentials to.
SOCKET_CANDIDATES = ("/run/mysqld/mysqld.sock", "/var/run/mysqld/mysqld.sock", "/var/lib/mysql/mysql.sock")


def default_socket():
    """The local server's Unix socket: the one its configuration names
    (``my_print_defaults``), else the first of the distributions' places that
    exists, else Debian's place (which ``connect`` then reports missing)."""
    tool = shutil.which("my_print_defaults")
    if tool:
        try:
            out = subprocess.run([tool, "client", "mysqld"], capture_output=True, text=True, timeout=10,
                                 check=False).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        named = [line.split("=", 1)[1] for line in out.splitlines() if line.startswith("--socket=")]
        if named:
            return named[-1]
    for candidate in SOCKET_CANDIDATES:
        if os.path.exists(candidate):
            return candidate
    return SOCKET_CANDIDATES[0]


def target(params, prefix="login"):
    """(host, port, socket) to connect to. For the local server (``login``)
    without a host or socket: the socket its configuration names, or the
    distribution's."""
    host, port = params.get("%s_host" % prefix), params.get("%s_port" % prefix) or 3306
    socket = params.get("%s_unix_socket" % prefix)
    if not socket and not host and prefix == "login":
        socket = default_socket()
    return host or "localhost", port, socket


TLS_ARGUMENT_SPEC = {
    "config_file": dict(type="path", default="~/.my.cnf"),
    "connect_timeout": dict(type="int", default=10),
    "ca_cert": dict(type="path", aliases=["ssl_ca"]),
    "client_cert": dict(type="path", aliases=["ssl_cert"]),
    "client_key": dict(type="path", aliases=["ssl_key"], no_log=False),
    "check_hostname": dict(type="bool"),
}
TLS_OPTIONS = ("ca_cert", "client_cert", "client_key", "check_hostname")


def tls_argument_spec(prefix):
    """The TLS options of another server's connection (``PREFIX_ca_cert`` ...)."""
    return {"%s_%s" % (prefix, name): dict(type=spec["type"], no_log=False) if name == "client_key"
            else dict(type=spec["type"])
            for name, spec in TLS_ARGUMENT_SPEC.items() if name in TLS_OPTIONS}


def tls_params(params, prefix="login"):
    """ca_cert, client_cert, client_key, check_hostname of this connection:
    the plain options for the local server, PREFIX_* (without ``_login``) for another."""
    name = "%s" if prefix == "login" else prefix.replace("_login", "") + "_%s"
    return {option: params.get(name % option) for option in TLS_OPTIONS}


def _where(host, port, socket):
    return "socket %s" % socket if socket else "%s:%s" % (host, port)


def describe(params, prefix="login"):
    """Where a connection goes, for messages: a socket path or host:port."""
    return _where(*target(params, prefix))


def connect(params, prefix="login"):
    """Open an autocommit connection returning rows as dictionaries."""
    if not HAS_PYMYSQL:
        raise ConnectionFailure(missing_pymysql())
    host, port, socket = target(params, prefix)
    where = _where(host, port, socket)
    if socket and not os.path.exists(socket):
        raise ConnectionFailure(
            "Cannot reach the database server at %s: there is no such socket, so the server is not running "
            "(or its socket is elsewhere: set %s_unix_socket)" % (where, prefix))
    kwargs = {
        "host": host,
        "port": port,
        "connect_timeout": params.get("connect_timeout", 10),
        "autocommit": True,
        "cursorclass": pymysql.cursors.DictCursor,
        "charset": "utf8mb4",
    }
    if socket:
        kwargs["unix_socket"] = socket
    if params.get("%s_user" % prefix) is not None:
        kwargs["user"] = params["%s_user" % prefix]
    if params.get("%s_password" % prefix) is not None:
        kwargs["password"] = params["%s_password" % prefix]
    # The local option file is for the local server only: its credentials are
    # never sent to another server (the primary has its own options).
    config_file = os.path.expanduser(params.get("config_file") or "") if prefix == "login" else ""
    if config_file and os.path.exists(config_file):
        kwargs["read_default_file"] = config_file
    tls = tls_params(params, prefix)
    if tls["ca_cert"] or tls["client_cert"]:
        ssl = {}
        for option, key in (("ca_cert", "ca"), ("client_cert", "cert"), ("client_key", "key")):
            if tls[option]:
                ssl[key] = tls[option]
        if tls["check_hostname"] is not None:
            ssl["check_hostname"] = tls["check_hostname"]
        kwargs["ssl"] = ssl
    try:
        return pymysql.connect(**kwargs)
    except pymysql.err.OperationalError as err:
        code = err.args[0] if err.args else None
        text = err.args[1] if len(err.args) > 1 else str(err)
        if code == 1045:
            raise ConnectionFailure(
                "Access denied for user %r at %s (check %s_user and %s_password): %s"
                % (params.get("%s_user" % prefix) or "(from config)", where, prefix, prefix, text)
            )
        if code in (2002, 2003, 2005, 2013):
            raise ConnectionFailure("Cannot reach the database server at %s: %s" % (where, text))
        raise ConnectionFailure("Connecting to %s failed with error %s: %s" % (where, code, text))
    except (pymysql.err.MySQLError, OSError) as err:
        raise ConnectionFailure("Connecting to %s failed: %s" % (where, err))
