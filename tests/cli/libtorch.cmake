# The binary runs on the LibTorch it was built with, found through its RPATH with no
# environment variables: `--version` names it, and the loader resolves libc10.so and
# libtorch_cpu.so to the wheel's copies (not Debian's, which may be installed beside).
if(SINKLAB_TORCH)
  add_test(NAME cli.libtorch.version COMMAND $<TARGET_FILE:sinklab> --version)
  string(REPLACE "+" "[+]" _lt_ver_re "${SINKLAB_LIBTORCH_VERSION}")
  set_tests_properties(cli.libtorch.version PROPERTIES
      PASS_REGULAR_EXPRESSION "LibTorch ${_lt_ver_re}, ${SINKLAB_LIBTORCH_KIND}")
  if(SINKLAB_LIBTORCH_KIND MATCHES "^(wheel|cuda)$")
    add_test(NAME cli.libtorch.loads_wheel
             COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/loads_wheel.sh $<TARGET_FILE:sinklab>
                     ${SINKLAB_LIBTORCH_DIR})
  endif()
endif()
# A LibTorch choice the setup does not know: one line on stderr, exit 2.
add_test(NAME cli.libtorch.setup_bad_kind
         COMMAND bash -c "SINKLAB_TORCH=bogus bash \"$0\"; echo \"rc=$?\"" ${CMAKE_SOURCE_DIR}/scripts/setup.sh)
set_tests_properties(cli.libtorch.setup_bad_kind PROPERTIES
    PASS_REGULAR_EXPRESSION "^setup: error: SINKLAB_TORCH=bogus is not one of wheel, cuda, system\nrc=2\n$")
# A pinned version that is not one: one line, exit 2, before anything is downloaded.
add_test(NAME cli.libtorch.fetch_bad_version
         COMMAND bash -c "python3 \"$0\" \"$1\" --version 2.x; echo \"rc=$?\"; test -e \"$1\" && echo created"
                 ${CMAKE_SOURCE_DIR}/scripts/fetch_libtorch.py ${CMAKE_CURRENT_BINARY_DIR}/fetch_bad_version)
set_tests_properties(cli.libtorch.fetch_bad_version PROPERTIES
    PASS_REGULAR_EXPRESSION "^setup: error: SINKLAB_TORCH_VERSION=2.x is not a torch version like 2.15.0\nrc=2\n$")
# An unknown SINKLAB_LIBTORCH at configure time: CMake stops and names it (the message
# is joined back into one line, as scripts/build.sh does).
add_test(NAME cli.libtorch.configure_bad_kind
         COMMAND bash -c "\"$0\" -S \"$1\" -B \"$2\" -G Ninja -DSINKLAB_LIBTORCH=bogus >\"$2.log\" 2>&1; echo \"rc=$?\"; tr -s ' \\n' ' ' <\"$2.log\""
                 ${CMAKE_COMMAND} ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/configure_bad_kind)
set_tests_properties(cli.libtorch.configure_bad_kind PROPERTIES
    PASS_REGULAR_EXPRESSION "^rc=1\n.*sinklab: SINKLAB_LIBTORCH=bogus is not one of auto, wheel, cuda, system")
# scripts/build.sh with an option it does not know: one line, exit 2, nothing built.
add_test(NAME cli.libtorch.build_bad_option
         COMMAND bash -c "bash \"$0\" --cdua; echo \"rc=$?\"" ${CMAKE_SOURCE_DIR}/scripts/build.sh)
set_tests_properties(cli.libtorch.build_bad_option PROPERTIES
    PASS_REGULAR_EXPRESSION "^build: error: unknown option '--cdua' \\(expected --system or --cuda\\)\nrc=2\n$")
