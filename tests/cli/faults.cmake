# Fault injection (issue 20): rejected resumes, run names, allocations too large, two
# writers, a failing write (file-size limit in place of a full disk), SIGKILL and resume,
# corrupt and truncated latest checkpoints. tests/cli/faults.sh runs each case.
foreach(_case resume_rejected_keeps_config run_name_is_one_component allocation_too_large two_writers
              write_failure_optimizer_state kill_and_resume_bit_identical corrupt_latest_checkpoint
              temp_files_removed_at_resume reproduce_interrupted_exits_130)
  add_test(NAME cli.faults.${_case} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/faults.sh $<TARGET_FILE:sinklab> ${_case})
  set_tests_properties(cli.faults.${_case} PROPERTIES PASS_REGULAR_EXPRESSION "^ok ${_case}" TIMEOUT 300)
endforeach()
