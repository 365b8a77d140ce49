# One output convention for every command that writes a directory: -o/--out DIR,
# refused when not empty unless --force (or resuming its own output); --json where a
# command prints results, with nothing else on stdout.
set(_nonempty "mkdir out && touch out/x")
set(_th_tiny --t-max 10 --gd-steps 50 --sgd-steps 50 --adam-steps 50 --n-out 10 --field-n 3 --field-t-max 5 --no-figures)
sinklab_cli_test_prepared(out.theory_refuses 2 "output directory 'out' is not empty \\(give --force" "${_nonempty}" theory -o out ${_th_tiny})
sinklab_cli_test_prepared(out.theory_force 0 "wrote out/summary.json" "${_nonempty}" theory -o out --force ${_th_tiny})
sinklab_cli_test_prepared(out.report_demo_refuses 2 "output directory 'out' is not empty" "${_nonempty}" report demo -o out)
sinklab_cli_test_prepared(out.scan_refuses 2 "output directory 'out' is not empty" "${_nonempty}"
                          llm scan @TESTDATA@/hf/gpt2 --domain prose=@DATA@/domains/prose_wikipedia.jsonl -o out)
sinklab_cli_test_prepared(out.scan_series_refuses 2 "output directory 'out' is not empty" "${_nonempty}"
                          llm scan-series @TESTDATA@/hf/series --domain prose=@DATA@/domains/prose_wikipedia.jsonl -o out)
sinklab_cli_test_prepared(out.reproduce_refuses 2 "output directory 'out' is not empty" "${_nonempty}" reproduce -o out)
sinklab_cli_test_prepared(out.train_refuses 2 "output directory 'out' is not empty" "${_nonempty}" train --preset tiny -o out)
# A run directory that holds a run: resume it, or --force starts afresh.
set(_tiny_run --preset tiny --set train.steps=3 --no-progress)
sinklab_cli_test(out.train_json 0 "\"run_dir\": \"r/run\"" train ${_tiny_run} -o r/run --json)
sinklab_cli_test_prepared(out.train_holds_run 2 "already holds a run. resume it with --resume r/run, start it afresh with --force"
                          "$bin train --preset tiny --set train.steps=3 --no-progress -o r/run >/dev/null"
                          train ${_tiny_run} -o r/run)
sinklab_cli_test_prepared(out.train_force 0 "finished at step 3"
                          "$bin train --preset tiny --set train.steps=3 --no-progress -o r/run >/dev/null"
                          train ${_tiny_run} -o r/run --force)
# --json: the result alone on stdout (checked as JSON by python3 -m json.tool).
add_test(NAME cli.out.json_is_clean
         COMMAND bash -c "set -e; d=$(mktemp -d); trap 'rm -rf $d' EXIT; cd $d; \
           \"$0\" theory -o th --t-max 10 --gd-steps 50 --sgd-steps 50 --adam-steps 50 --n-out 10 --field-n 3 --field-t-max 5 --json | /usr/bin/python3 -m json.tool >/dev/null; \
           \"$0\" theory fit --csv \"$1/theory/growth.csv\" --y bos_value_norm --json | /usr/bin/python3 -m json.tool >/dev/null; \
           \"$0\" train --preset tiny --set train.steps=2 --no-progress -o r --json | /usr/bin/python3 -m json.tool >/dev/null; \
           echo all-json-ok"
         $<TARGET_FILE:sinklab> ${CMAKE_CURRENT_SOURCE_DIR}/data)
set_tests_properties(cli.out.json_is_clean PROPERTIES PASS_REGULAR_EXPRESSION "all-json-ok" TIMEOUT 300)
# Bad generation settings: one line, exit 2.
sinklab_cli_test(out.generate_n_zero 2 "-n must be at least 1" llm generate @TESTDATA@/hf/gpt2 "Hello" -n 0 --no-bos)
sinklab_cli_test(out.generate_top_p 2 "--top-p must be in \\(0, 1\\]" llm generate @TESTDATA@/hf/gpt2 "Hello" --top-p 2 --no-bos)
# Bad --out for train: one line, exit 2.
sinklab_cli_test(out.train_out_not_a_dir 2 "--out '\\.' does not name a directory" train --preset tiny -o .)
sinklab_cli_test(out.train_out_with_resume 2 "--resume takes the run directory itself" train --resume r -o r2)
