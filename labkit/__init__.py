# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Docker lab as code: one toolkit for the tests, the benchmarks and `make lab`.

  labkit.lab       the lab's inventory (groups, variables, addresses, VIPs), a
                   shell in a container, and who holds each VIP
  labkit.commands  running a command or a playbook, reading a play recap,
                   waiting for a condition
  labkit.faults    breaking a host on purpose (kill, stop a service, freeze)
                   and putting it back
  labkit.firewall  what the firewalls let through, port by port, from a host
  labkit.client    the probe run on the client host while something breaks
  labkit.probe     the probe itself (installed on the client as alx-probe)
  labkit.monitoring  Prometheus' and Alertmanager's APIs and the webhook's
                   notifications, and the monitoring drill's faults
  labkit.promotion the promotion drill (primary killed, replica promoted)
  labkit.control   the lab's containers as Docker sees them: up from any
                   state, start, stop, healthy

`python -m labkit [status|up|start|stop]` is what `make lab`, `lab-status`,
`lab-start` and `lab-stop` call.
"""
