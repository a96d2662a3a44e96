# -*- coding: utf-8 -*-
# Copyright: alx.webstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PyMySQL connections from the shared login_* options, with errors a user can act on."""

from __future__ import absolute_import, annotations, division, print_function

import os

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
        "%s_host" % prefix: dict(type="str", default="localhost"),
        "%s_port" % prefix: dict(type="int", default=3306),
        "%s_unix_socket" % prefix: dict(type="str"),
    }


TLS_ARGUMENT_SPEC = {
    "config_file": dict(type="path", default="~/.my.cnf"),
    "connect_timeout": dict(type="int", default=10),
    "ca_cert": dict(type="path", aliases=["ssl_ca"]),
    "client_cert": dict(type="path", aliases=["ssl_cert"]),
    "client_key": dict(type="path", aliases=["ssl_key"], no_log=False),
    "check_hostname": dict(type="bool"),
}


def describe(params, prefix="login"):
    """Where a connection goes, for messages: a socket path or host:port."""
    if params.get("%s_unix_socket" % prefix):
        return "socket %s" % params["%s_unix_socket" % prefix]
    return "%s:%s" % (params.get("%s_host" % prefix), params.get("%s_port" % prefix))


def connect(params, prefix="login"):
    """Open an autocommit connection returning rows as dictionaries."""
    if not HAS_PYMYSQL:
        raise ConnectionFailure(missing_pymysql())
    kwargs = {
        "host": params.get("%s_host" % prefix),
        "port": params.get("%s_port" % prefix),
        "connect_timeout": params.get("connect_timeout", 10),
        "autocommit": True,
        "cursorclass": pymysql.cursors.DictCursor,
        "charset": "utf8mb4",
    }
    if params.get("%s_unix_socket" % prefix):
        kwargs["unix_socket"] = params["%s_unix_socket" % prefix]
    if params.get("%s_user" % prefix) is not None:
        kwargs["user"] = params["%s_user" % prefix]
    if params.get("%s_password" % prefix) is not None:
        kwargs["password"] = params["%s_password" % prefix]
    config_file = os.path.expanduser(params.get("config_file") or "")
    if config_file and os.path.exists(config_file):
        kwargs["read_default_file"] = config_file
    if params.get("ca_cert") or params.get("client_cert"):
        ssl = {}
        for option, key in (("ca_cert", "ca"), ("client_cert", "cert"), ("client_key", "key")):
            if params.get(option):
                ssl[key] = params[option]
        if params.get("check_hostname") is not None:
            ssl["check_hostname"] = params["check_hostname"]
        kwargs["ssl"] = ssl
    try:
        return pymysql.connect(**kwargs)
    except pymysql.err.OperationalError as err:
        code = err.args[0] if err.args else None
        text = err.args[1] if len(err.args) > 1 else str(err)
        where = describe(params, prefix)
        if code == 1045:
            raise ConnectionFailure(
                "Access denied for user %r at %s (check %s_user and %s_password): %s"
                % (params.get("%s_user" % prefix) or "(from config)", where, prefix, prefix, text)
            )
        if code in (2002, 2003, 2005, 2013):
            raise ConnectionFailure("Cannot reach the database server at %s: %s" % (where, text))
        raise ConnectionFailure("Connecting to %s failed with error %s: %s" % (where, code, text))
    except (pymysql.err.MySQLError, OSError) as err:
        raise ConnectionFailure("Connecting to %s failed: %s" % (describe(params, prefix), err))
