#!/usr/bin/env bash
# expect.sh SINKLAB EXIT_CODE STDERR_REGEX ARGS...
# Runs SINKLAB ARGS in a scratch dir; @DATA@ and @TESTDATA@ in ARGS become $DATA (the repository's data/) and $TESTDATA.
set -u
bin=$1; want=$2; regex=$3; shift 3
args=()
for a in "$@"; do
  a=${a//@DATA@/$DATA}
  a=${a//@TESTDATA@/$TESTDATA}
  args+=("$a")
done
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
# Inputs the cases build on the fly: @SCRATCH@ names this folder.
for i in "${!args[@]}"; do args[$i]=${args[$i]//@SCRATCH@/$scratch}; done
if [ -n "${PREPARE:-}" ]; then eval "$PREPARE"; fi
"$bin" "${args[@]}" >stdout.txt 2>stderr.txt
got=$?
if [ "$got" != "$want" ]; then
  echo "expected exit code $want, got $got"; echo "--- stderr"; cat stderr.txt; echo "--- stdout"; head -c 2000 stdout.txt
  exit 1
fi
if ! grep -E -q -- "$regex" stderr.txt stdout.txt; then
  echo "output does not match /$regex/"; echo "--- stderr"; cat stderr.txt; exit 1
fi
if [ "$want" = 2 ]; then
  lines=$(wc -l < stderr.txt)
  if [ "$lines" != 1 ]; then echo "expected a one-line error, got $lines lines:"; cat stderr.txt; exit 1; fi
  if ! grep -q '^sinklab: error: ' stderr.txt; then echo "error does not start with 'sinklab: error: '"; cat stderr.txt; exit 1; fi
fi
exit 0
