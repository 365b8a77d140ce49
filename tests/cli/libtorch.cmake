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
