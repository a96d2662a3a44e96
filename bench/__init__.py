# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmarks of the stack in the Docker lab, each figure beside a baseline from the same run.

  bench/__main__.py      the command (`make bench`, or `python -m bench`)
  bench/sections/        what is measured: each section returns its figures and
                         the table rows they give, targets included
  bench/baselines.py     the baselines, applied to the lab and removed again
  bench/load.py          wrk and the probe reports, reduced to figures
  bench/report.py        BENCHMARKS.md and the plot, written from results.json
"""
