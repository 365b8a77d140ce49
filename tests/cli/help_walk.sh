#!/usr/bin/env bash
# help_walk.sh SINKLAB: every command and subcommand answers --help with exit code 0 and
# a usage line; prints how many it walked. Subcommands are read from each help's
# "Subcommands:" section, so a new command is walked without changing this file.
set -u
bin=$1
n=0
walk() {
  local out
  if ! out=$("$bin" "$@" --help 2>&1); then echo "FAIL: sinklab $* --help exits non-zero"; echo "$out"; exit 1; fi
  if ! grep -q "^Usage:" <<<"$out"; then echo "FAIL: sinklab $* --help has no usage line"; exit 1; fi
  n=$((n + 1))
  local subs
  subs=$(awk '/^Subcommands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{on=0}' <<<"$out")
  for s in $subs; do walk "$@" "$s"; done
}
walk
echo "walked --help of $n commands"
