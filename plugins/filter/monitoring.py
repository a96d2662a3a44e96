# -*- coding: utf-8 -*-
# Copyright: alx.webstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus' scrape jobs, from the targets the hosts of the stack publish."""

from __future__ import absolute_import, division, print_function

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.alx.webstack.plugins.filter.network import address_of, url_host

__metaclass__ = type

_KEYS = frozenset(("job", "tier", "port", "exporter", "labels", "scheme", "metrics_path", "basic_auth", "tls"))
# What a job takes from its first target: every target of a job is reached alike.
_JOB_KEYS = ("scheme", "metrics_path", "basic_auth", "tls")


def scrape_jobs(hosts, hostvars, exporter_ports):
    """The scrape jobs of Prometheus, in the order they first appear: every
    target that ``hosts`` (the hosts of the stack, in tier order) publish in
    ``webstack_scrape_targets``, at the host's service address. A target
    served by an exporter of the monitoring role names it (``exporter.name``)
    and is reached on that exporter's port from ``exporter_ports``; others give
    their ``port``. Each target is labelled with its host (``instance``), its
    ``tier`` and its own ``labels``; a job is reached as its first target says
    (``scheme``, ``metrics_path``, ``basic_auth``, ``tls``)."""
    jobs = {}
    for host in hosts or []:
        if host not in hostvars:
            raise AnsibleFilterError("scrape_jobs: %s is not a host of the inventory" % host)
        published = hostvars[host].get("webstack_scrape_targets")
        if published is None:
            raise AnsibleFilterError(
                "scrape_jobs: %s has published no scrape targets: preflight publishes them on every host of the "
                "stack it runs on, so run the monitoring tier without a --limit that leaves hosts out" % host)
        address = url_host(address_of(host, hostvars))
        for target in published:
            if not isinstance(target, dict) or not target.get("job"):
                raise AnsibleFilterError("scrape_jobs: %s publishes %r, which is not a target with a job" % (host, target))
            unknown = sorted(set(target) - _KEYS)
            if unknown:
                raise AnsibleFilterError("scrape_jobs: the target of job %s on %s has unknown keys %s; a target takes %s"
                                         % (target["job"], host, ", ".join(unknown), ", ".join(sorted(_KEYS))))
            exporter = (target.get("exporter") or {}).get("name")
            if exporter:
                if exporter not in exporter_ports:
                    raise AnsibleFilterError("scrape_jobs: %s asks for the exporter %r; the monitoring role has %s"
                                             % (host, exporter, ", ".join(sorted(exporter_ports))))
                port = exporter_ports[exporter]
            else:
                port = target.get("port")
            if not port:
                raise AnsibleFilterError("scrape_jobs: the target of job %s on %s has neither a port nor an exporter"
                                         % (target["job"], host))
            job = jobs.setdefault(target["job"], dict(
                {"name": to_text(target["job"]), "targets": []},
                **{key: target[key] for key in _JOB_KEYS if target.get(key)}))
            labels = {"instance": host}
            if target.get("tier"):
                labels["tier"] = to_text(target["tier"])
            labels.update(target.get("labels") or {})
            job["targets"].append({"target": "%s:%s" % (address, int(port)), "labels": labels})
    return list(jobs.values())


class FilterModule:
    """Prometheus' jobs from the published targets."""

    def filters(self):
        return {"scrape_jobs": scrape_jobs}
