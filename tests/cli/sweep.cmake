# sinklab sweep (issue 18): a 2 x 2 x 2 grid locally (resumable), language-model cells equal
# to scan-series on their exported checkpoint, a failed cell kept in the
# table, bad grids refused, and the same grid as a job array on a single-node Slurm that the
# test starts (tests/tools/slurm_start.sh) whose table must equal the local one cell by cell.
foreach(_case local_grid lm_cells variants_axis failed_cell_kept bad_input slurm_matches_local)
  add_test(NAME cli.sweep.${_case} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/sweep.sh $<TARGET_FILE:sinklab> ${_case})
  set_tests_properties(cli.sweep.${_case} PROPERTIES PASS_REGULAR_EXPRESSION "^ok ${_case}" SKIP_REGULAR_EXPRESSION "^skip ${_case}" TIMEOUT 600)
endforeach()
set_tests_properties(cli.sweep.slurm_matches_local PROPERTIES RUN_SERIAL TRUE)
