#!/usr/bin/env bash
# The `default` scenario's test sequence one step at a time (`molecule test`
# runs every step), in two halves that `make test` can run apart:
#   sequence.sh create         destroy, then create and prepare the lab
#   sequence.sh test [check]   [check (the first `--check --diff`, on the
#                              fresh lab),] converge, idempotence, verify
#   sequence.sh all [check]    both halves
# The lab is destroyed at the end of `test` whatever happened, and after a
# `create` that failed, as `molecule test` does.
set -euo pipefail
half=${1:-all}
check=${2:-}
case $half in
  create | all)
    molecule destroy
    trap 'molecule destroy' EXIT
    # create_sequence: create, then prepare.
    molecule create
    [ "$half" = create ] && trap - EXIT
    ;;
  test) trap 'molecule destroy' EXIT ;;
  *) echo "usage: $0 create | test [check] | all [check]" >&2; exit 2 ;;
esac
steps=()
[ "$check" = check ] && steps+=(check)
steps+=(converge idempotence verify)
if [ "$half" != create ]; then
  for step in "${steps[@]}"; do
    molecule "$step"
  done
fi
