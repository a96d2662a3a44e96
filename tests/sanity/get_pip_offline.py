# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the get-pip bootstrap script that ansible-test downloads.

ansible-test bootstraps pip in each sanity virtualenv with a script fetched
from its own file server. Where only a package index is reachable (air-gapped
mirrors, CI without general internet), this script does the same job with the
interpreter's bundled ``ensurepip`` and then installs the requested packages
from the configured index. `make sanity` puts it where ansible-test looks.
"""

import ensurepip
import os
import subprocess
import sys

CONFIG = os.environ.get("PIP_CONFIG_FILE")
ensurepip.bootstrap(upgrade=True)
# ensurepip points PIP_CONFIG_FILE at /dev/null; the install below must see the
# machine's pip configuration (index, certificates) again.
if CONFIG is None:
    os.environ.pop("PIP_CONFIG_FILE", None)
else:
    os.environ["PIP_CONFIG_FILE"] = CONFIG
ARGS = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + ARGS))
