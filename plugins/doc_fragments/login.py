# -*- coding: utf-8 -*-
# Copyright: alx.webstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Connection options shared by the collection's database modules."""

    DOCUMENTATION = r"""
options:
  login_user:
    description:
      - User name to connect with.
      - When omitted, the user from O(config_file) is used, or the name of the
        user running the module (root over the socket on a Debian server).
    type: str
  login_password:
    description:
      - Password of O(login_user). Not needed for socket authentication.
    type: str
  login_host:
    description:
      - Host of the server to check. Ignored when O(login_unix_socket) is set.
      - When neither this nor O(login_unix_socket) is set, the module connects
        through the socket the server's own configuration names
        (C(my_print_defaults client mysqld)), else the first of
        C(/run/mysqld/mysqld.sock), C(/var/run/mysqld/mysqld.sock) and
        C(/var/lib/mysql/mysql.sock) that exists. Never C(/tmp/mysql.sock),
        where any local user could leave a socket for root's credentials.
      - A socket that does not exist (a stopped server) fails the module with
        its path, before any connection is tried.
    type: str
  login_port:
    description:
      - TCP port of the server to check.
    type: int
    default: 3306
  login_unix_socket:
    description:
      - Path of the server's Unix socket, for example C(/run/mysqld/mysqld.sock).
    type: str
  config_file:
    description:
      - An option file with a C([client]) section to read credentials from,
        used only when it exists, and only for this server's connection.
    type: path
    default: ~/.my.cnf
  connect_timeout:
    description:
      - Seconds to wait for a connection.
    type: int
    default: 10
  ca_cert:
    description:
      - CA certificate that signed the server's TLS certificate. Setting it
        turns TLS on.
    type: path
    aliases: [ssl_ca]
  client_cert:
    description:
      - Client certificate for TLS client authentication.
    type: path
    aliases: [ssl_cert]
  client_key:
    description:
      - Private key of O(client_cert).
    type: path
    aliases: [ssl_key]
  check_hostname:
    description:
      - Whether the server's certificate must match its host name. PyMySQL's
        default applies when omitted.
    type: bool
requirements:
  - PyMySQL on the host that runs the module (C(python3-pymysql) on Debian and Ubuntu).
"""
