# Shared by the case scripts of tests/cli (faults.sh, sweep.sh), sourced after they set
# $case_ and cd into their scratch directory: die MESSAGE (prints "FAIL CASE: ..." and the
# last stderr), expect2 REGEX CMD... (the command exits 2 with one line on stderr that
# matches REGEX).
die() { echo "FAIL $case_: $*"; [ -f err ] && { echo "--- stderr"; tail -40 err; }; exit 1; }
expect2() {
  local re=$1; shift
  "$@" >out 2>err; local rc=$?
  [ $rc = 2 ] || die "expected exit 2, got $rc from: $*"
  [ "$(wc -l <err)" = 1 ] || die "expected one line on stderr"
  grep -Eq -- "$re" err || die "stderr does not match /$re/"
}
