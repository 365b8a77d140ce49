#!/usr/bin/env bash
# loads_wheel.sh BINARY LIBTORCH_DIR: the loader resolves the binary's libc10.so and
# libtorch_cpu.so inside LIBTORCH_DIR (the wheel's), with no LD_LIBRARY_PATH.
set -u
out=$(env -u LD_LIBRARY_PATH ldd "$1") || { echo "ldd failed on $1"; exit 1; }
libs=$(echo "$out" | grep -E '/(libc10|libtorch_cpu)\.so ')
if [ "$(echo "$libs" | grep -c -F "$2/torch/lib/")" != 2 ]; then
  echo "expected libc10.so and libtorch_cpu.so from $2/torch/lib, the loader gives:"
  echo "$libs"
  exit 1
fi
echo ok
