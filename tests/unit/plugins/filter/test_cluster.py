# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""corosync_conf: the cluster's name, members and link addresses, as pcs writes them."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.alx.webstack.plugins.filter.cluster import corosync_conf, corosync_runtime

PCS = """totem {
    version: 2
    cluster_name: webstack-db
    transport: knet
    crypto_cipher: aes256
    crypto_hash: sha256
}

nodelist {
    node {
        ring0_addr: 172.30.80.31
        ring1_addr: 10.0.0.31
        name: db1
        nodeid: 1
    }

    node {
        ring1_addr: 10.0.0.32
        name: db2
        nodeid: 2
    }
}

quorum {
    provider: corosync_votequorum
}

logging {
    to_logfile: yes
    logfile: /var/log/corosync/corosync.log
}
"""

DEBIAN = """totem {
\tversion: 2
\tcluster_name: debian
}
nodelist {
\tnode {
\t\tname: node1
\t\tnodeid: 1
\t\tring0_addr: 127.0.0.1
\t}
}
"""


def test_pcs_configuration_gives_name_members_and_links():
    assert corosync_conf(PCS) == {
        "name": "webstack-db",
        "nodes": {"db1": {0: "172.30.80.31", 1: "10.0.0.31"}, "db2": {1: "10.0.0.32"}},
        "links": {0: {"db1": "172.30.80.31"}, 1: {"db1": "10.0.0.31", "db2": "10.0.0.32"}},
    }


def test_debian_default_one_node_cluster():
    assert corosync_conf(DEBIAN) == {"name": "debian", "nodes": {"node1": {0: "127.0.0.1"}}, "links": {0: {"node1": "127.0.0.1"}}}


@pytest.mark.parametrize("text", ["", None])
def test_no_configuration_is_no_cluster(text):
    assert corosync_conf(text) == {"name": "", "nodes": {}, "links": {}}


def test_a_node_without_a_name_is_known_by_its_address():
    assert corosync_conf("nodelist {\n node {\n  ring0_addr: 192.0.2.1\n }\n}\n")["nodes"] == {"192.0.2.1": {0: "192.0.2.1"}}


@pytest.mark.parametrize("text, message", [
    ("totem {\n cluster_name: x\n", "the section totem is not closed"),
    ("}\n", "a closing brace without an opening one"),
    ("nodelist {\n node {\n nodeid: 1\n }\n}\n", "neither a name nor an address"),
    (["not", "text"], "expected the text of a corosync.conf"),
])
def test_what_cannot_be_read_is_refused(text, message):
    with pytest.raises(AnsibleFilterError, match=message):
        corosync_conf(text)


CMAP = """nodelist.local_node_pos (u32) = 0
nodelist.node.0.name (str) = db1
nodelist.node.0.nodeid (u32) = 1
nodelist.node.0.ring0_addr (str) = 172.30.80.31
nodelist.node.0.ring1_addr (str) = 10.0.0.31
nodelist.node.1.name (str) = db2
nodelist.node.1.nodeid (u32) = 2
nodelist.node.1.ring1_addr (str) = 10.0.0.32
"""


def test_the_running_links_are_read_from_cmapctl():
    assert corosync_runtime(CMAP) == {0: {"db1": "172.30.80.31"}, 1: {"db1": "10.0.0.31", "db2": "10.0.0.32"}}


@pytest.mark.parametrize("text", ["", None])
def test_corosync_not_running_has_no_links(text):
    assert corosync_runtime(text) == {}


def test_the_running_links_compare_with_the_configured_ones():
    assert corosync_runtime(CMAP) == corosync_conf(PCS)["links"]


def test_cmapctl_output_that_is_not_text_is_refused():
    with pytest.raises(AnsibleFilterError, match="expected the output of corosync-cmapctl"):
        corosync_runtime(["no"])
