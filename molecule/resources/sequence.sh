#!/usr/bin/env bash
# The `default` scenario's test sequence one step at a time (`molecule test`
# runs every step), in two halves that `make test` can run apart:
#   sequence.sh setup [check]   destroy; create and prepare the lab; [check
#                               (the first `--check --diff`, on the fresh
#                               lab);] converge; idempotence
#   sequence.sh verify          verify (testinfra, tests/integration)
#   sequence.sh all [check]     both halves
# The lab is destroyed at the end of `verify` whatever happened, and after a
# `setup` that failed, as `molecule test` does.
set -euo pipefail
half=${1:-all}
check=${2:-}
case $half in
  setup | all | verify) ;;
  *) echo "usage: $0 setup [check] | verify | all [check]" >&2; exit 2 ;;
esac
trap 'molecule destroy' EXIT
if [ "$half" != verify ]; then
  molecule destroy
  # create_sequence: create, then prepare.
  steps=(create)
  [ "$check" = check ] && steps+=(check)
  steps+=(converge idempotence)
  for step in "${steps[@]}"; do
    molecule "$step"
  done
fi
if [ "$half" = setup ]; then
  trap - EXIT
else
  # The lab is removed right after: tests need not put it back as they found
  # it when that costs a whole run.
  ALX_LAB_DISPOSABLE=1 molecule verify
fi
