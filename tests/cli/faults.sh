#!/usr/bin/env bash
# faults.sh SINKLAB CASE: fault injection against the real binary (issue 20). Each case
# prints "ok CASE" on success; anything else fails the test.
set -u
bin=$1; case_=$2
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'jobs -p | xargs -r kill -9 2>/dev/null; rm -rf "$dir"' EXIT
cd "$dir"
source "$here/lib.sh"
tiny() { "$bin" train --preset tiny --set train.threads=1 --set run.out_dir=. --no-progress "$@"; }
same_final() {  # two runs' last checkpoints are bit-identical
  cmp -s "$1/checkpoints/step-$3.safetensors" "$2/checkpoints/step-$3.safetensors" || die "$1 and $2 differ at step $3"
}
case $case_ in
resume_rejected_keeps_config)
  tiny --set train.steps=20 --set run.name=r >/dev/null 2>&1 || die "train"
  cp r/config.toml before
  expect2 "cannot change model.d_model \\(32 in the run, 64 asked\\)" "$bin" train --resume r --set model.d_model=64
  cmp -s before r/config.toml || die "a rejected resume rewrote config.toml"
  expect2 "train.steps = 10 is before the run's last checkpoint" "$bin" train --resume r --set train.steps=10
  cmp -s before r/config.toml || die "a rejected resume rewrote config.toml"
  "$bin" train --resume r --set train.steps=30 --no-progress >/dev/null 2>err || die "extending the run"
  grep -q "^steps = 30 " r/config.toml || die "the accepted change is not in config.toml"
  "$bin" analyze r --no-figures >/dev/null 2>err || die "analyze after the resume"
  ;;
run_name_is_one_component)
  for n in .. .; do
    expect2 "run.name = '\\$n' must be one path component" "$bin" train --preset tiny --set run.out_dir=sub --set "run.name=$n"
  done
  [ ! -e sub ] || die "a rejected name left sub/"
  ;;
allocation_too_large)
  expect2 "this run \\(model.d_model = 32, .*\\) needs about [0-9.]+ GiB, but only [0-9.]+ GiB of memory is available" \
    "$bin" train --preset tiny --set model.d_ff=1000000000 --set run.out_dir=. --set run.name=big
  [ ! -e big ] || die "a failed start left its run directory"
  expect2 "this run .* needs about" "$bin" train --preset tiny --set train.batch_size=65536 --set data.seq_len=8192 \
    --set run.out_dir=. --set run.name=big
  [ ! -e big ] || die "a failed start left its run directory"
  tiny --set train.steps=5 --set run.name=big >/dev/null 2>&1 || die "the name is not free after the failed starts"
  ;;
two_writers)
  tiny --set train.steps=20 --set run.name=r >/dev/null 2>&1 || die "train"
  flock r/.sinklab.lock sleep 60 >/dev/null 2>&1 &
  holder1=$!
  sleep 0.5
  expect2 "output directory 'r' is in use by another sinklab process" "$bin" train --resume r --set train.steps=40
  mkdir scan
  flock scan/.sinklab.lock sleep 60 >/dev/null 2>&1 &
  holder2=$!
  sleep 0.5
  expect2 "output directory 'scan' is in use by another sinklab process" "$bin" theory -o scan --force --t-max 10 --gd-steps 50 --sgd-steps 50 --adam-steps 50 --n-out 10 --field-n 3 --field-t-max 5 --no-figures
  expect2 "output directory 'scan' is in use by another sinklab process" "$bin" llm scan none.gguf \
    --domain p=x.jsonl --out scan --force
  kill $holder1 $holder2 2>/dev/null
  ;;
temp_files_removed_at_resume)
  tiny --set train.steps=20 --set run.name=r >/dev/null 2>&1 || die "train"
  touch r/checkpoints/step-20.optim.pt.tmp-99999-1 r/checkpoints/step-15.optim.pt.tmp r/metrics.jsonl.tmp-99999-2
  "$bin" train --resume r --set train.steps=25 --no-progress >/dev/null 2>err || die "resume"
  ! ls r r/checkpoints | grep -q tmp || die "temp files survived the resume"
  ;;
reproduce_interrupted_exits_130)
  "$bin" reproduce --out rq --seeds 1 --set train.steps=3000 --no-progress >/dev/null 2>err &
  pid=$!
  sleep 4
  kill -INT $pid
  wait $pid
  rc=$?
  [ $rc = 130 ] || die "expected exit 130 after Ctrl-C, got $rc"
  grep -q "interrupted; run the same command again" err || die "no note on how to continue"
  ;;
write_failure_optimizer_state)
  # A file-size limit makes writes past 64 KiB fail (EFBIG), as a full disk does; the
  # optimizer state of this model is larger. SIGXFSZ ignored: the write returns an error.
  ( trap '' XFSZ; ulimit -f 128; exec "$bin" train --preset tiny --set model.d_model=64 --set run.out_dir=. \
      --set run.name=r --set train.threads=1 --no-progress ) >out 2>err
  rc=$?
  [ $rc = 2 ] || die "expected exit 2, got $rc"
  [ "$(wc -l <err)" = 1 ] || die "expected one line on stderr"
  grep -Eq "cannot write '.*'" err || die "the error does not name the file"
  ! ls r/checkpoints 2>/dev/null | grep -q tmp || die "temp files left behind"
  ;;
kill_and_resume_bit_identical)
  args=(--set train.steps=400 --set checkpoints.dense_every=7 --set checkpoints.dense_until=400)
  tiny "${args[@]}" --set run.name=full >/dev/null 2>err || die "the uninterrupted run"
  cut_mid=0
  for t in 0.5 1.3 2.1; do
    rm -rf cut
    ( exec "$bin" train --preset tiny --set train.threads=1 --set run.out_dir=. --no-progress "${args[@]}" \
        --set run.name=cut >/dev/null 2>&1 ) &
    pid=$!  # the sinklab process itself (exec), not a shell around it
    sleep $t
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    if [ -f cut/config.toml ] && ls cut/checkpoints/*.optim.pt >/dev/null 2>&1; then
      [ -f cut/checkpoints/step-400.safetensors ] || cut_mid=$((cut_mid + 1))
      "$bin" train --resume cut --no-progress >/dev/null 2>err || die "resume after SIGKILL at ${t}s"
      ! ls cut/checkpoints | grep -q tmp || die "temp files survived the resume"
      same_final full cut 400
    fi
  done
  [ $cut_mid -ge 1 ] || die "no kill landed in the middle of a run"
  ;;
corrupt_latest_checkpoint)
  tiny --set train.steps=40 --set checkpoints.dense_every=15 --set checkpoints.dense_until=30 --set run.name=full \
    >/dev/null 2>&1 || die "the uninterrupted run"
  for how in flip truncate; do
    rm -rf cut
    tiny --set train.steps=40 --set checkpoints.dense_every=15 --set checkpoints.dense_until=30 --set run.name=cut \
      --stop-after 30 >/dev/null 2>&1
    f=cut/checkpoints/step-30.safetensors
    size=$(stat -c %s $f)
    if [ $how = flip ]; then
      printf '\x7f' | dd of=$f bs=1 seek=$((size - 100)) conv=notrunc 2>/dev/null
    else
      truncate -s $((size - 100)) $f
    fi
    "$bin" train --resume cut --no-progress >/dev/null 2>err || die "resume with a $how latest checkpoint"
    grep -q "warning: .*step-30.safetensors.*resuming from step 15 instead" err || die "no warning for the $how checkpoint"
    same_final full cut 40
  done
  ;;
*) die "unknown case" ;;
esac
echo "ok $case_"
