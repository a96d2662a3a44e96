# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""missing_packages: what a role still has to install, from the packages preflight found installed."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.alx.webstack.plugins.filter.packages import installed_packages, missing_packages

# ansible_facts.packages as package_facts gives it: name -> list of installed versions.
INSTALLED = {
    "nginx": [{"name": "nginx", "version": "1.22.1-9", "source": "apt"}],
    "python3-cryptography": [{"name": "python3-cryptography", "version": "38.0.4-3", "source": "apt"}],
    "libc6": [{"name": "libc6", "version": "2.36-9", "arch": "amd64"}, {"name": "libc6", "version": "2.36-9", "arch": "i386"}],
}


def test_only_the_names_not_installed_come_back_in_their_order():
    assert missing_packages(["haproxy", "nginx", "python3-cryptography", "curl"], INSTALLED) == ["haproxy", "curl"]


def test_a_host_with_everything_needs_nothing():
    assert missing_packages(["nginx", "libc6"], INSTALLED) == []
    assert missing_packages("nginx", INSTALLED) == []
    assert missing_packages([], INSTALLED) == []


def test_without_facts_every_package_is_missing():
    assert missing_packages(["nginx", "curl"]) == ["nginx", "curl"]
    assert missing_packages(["nginx", "curl"], None) == ["nginx", "curl"]
    assert missing_packages("nginx", None) == ["nginx"]


@pytest.mark.parametrize("name", ["nginx=1.22.1-9", "nginx:amd64", "nginx*", "./nginx.deb", "nginx>=1.22", "Nginx"])
def test_a_name_the_package_manager_must_read_counts_as_missing(name):
    assert missing_packages([name], INSTALLED) == [name]


def test_an_empty_entry_in_the_facts_is_not_installed():
    assert missing_packages(["nginx"], {"nginx": []}) == ["nginx"]


@pytest.mark.parametrize("names, installed, message", [
    (42, INSTALLED, "a package name or a list"),
    (["nginx", 3], INSTALLED, "a package name or a list"),
    (["nginx"], "nginx", "a list of installed package names or ansible_facts.packages"),
])
def test_bad_input_is_refused_with_a_reason(names, installed, message):
    with pytest.raises(AnsibleFilterError, match=message):
        missing_packages(names, installed)


def test_a_list_of_installed_names_serves_as_well_as_the_package_facts():
    assert missing_packages(["haproxy", "nginx", "curl"], ["nginx", "libc6"]) == ["haproxy", "curl"]
    assert missing_packages(["nginx"], []) == ["nginx"]
    assert missing_packages(["nginx=1.22.1-9"], ["nginx"]) == ["nginx=1.22.1-9"]


def test_installed_packages_reads_dpkg_query_and_keeps_only_what_is_installed():
    lines = ["ii nginx", "ii libc6", "ii libc6", "hi held-package", "rc removed-but-configured",
             "un never-installed", "iU half-configured", "", "garbage"]
    assert installed_packages(lines) == ["held-package", "libc6", "nginx"]
    assert installed_packages([]) == []


def test_installed_packages_refuses_what_is_not_dpkg_query_output():
    with pytest.raises(AnsibleFilterError, match="the lines of dpkg-query"):
        installed_packages("ii nginx")
