# `sinklab llm trace`: one prompt from inside. Bad input gives one line and exit 2;
# the tiny GPT-2 of tests/data/hf runs everywhere; SmolLM2 by name when the setup's
# model is in the sinklab cache.
sinklab_cli_test(llm_trace.help 0 "--save" llm trace --help)
add_test(NAME cli.llm_trace.empty_prompt
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/expect.sh $<TARGET_FILE:sinklab> 2 "it is empty"
                 llm trace none.gguf --file empty.txt)
set_tests_properties(cli.llm_trace.empty_prompt PROPERTIES
    ENVIRONMENT "DATA=${CMAKE_SOURCE_DIR}/data;TESTDATA=${CMAKE_CURRENT_SOURCE_DIR}/data;PREPARE=touch empty.txt")
sinklab_cli_test(llm_trace.unknown_name 2 "model 'Nobody/Nothing' not found: .*looked in"
                 llm trace Nobody/Nothing --prompt hello)
sinklab_cli_test(llm_trace.tiny_gpt2 0 "wrote [0-9]+ files to out"
                 llm trace @TESTDATA@/hf/gpt2 "Hello world, hello" --no-bos -o out --zero-head L1H0)
sinklab_cli_test(llm_trace.json 0 "\"sink_logit_gap_mean\""
                 llm trace @TESTDATA@/hf/gpt2 --prompt "Hello world" --no-bos --json)
sinklab_cli_test(llm_trace.too_long 2 "longer than the model's context of 32"
                 llm trace @TESTDATA@/hf/gpt2 --prompt "a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f g h i j k l m n o p q r s t u v w x y z" --no-bos)
sinklab_cli_test(llm_trace.bad_save 2 "hook" llm trace @TESTDATA@/hf/gpt2 --prompt "Hello" --no-bos --save blocks.0.attn.hook_nothing)
sinklab_cli_test(llm_trace.bad_head 2 "--zero-head: head L9H0 is outside the model"
                 llm trace @TESTDATA@/hf/gpt2 --prompt "Hello" --no-bos --zero-head 9.0)
sinklab_cli_test_prepared(llm_trace.not_empty 2 "output directory 'out' is not empty" "mkdir out && touch out/x"
                          llm trace @TESTDATA@/hf/gpt2 --prompt Hello --no-bos -o out)
sinklab_cli_test(llm_trace.top_zero 2 "--top must be at least 1" llm trace @TESTDATA@/hf/gpt2 --prompt Hello --no-bos --top 0)
# The saved patterns, opened from Python, equal the CSV (tiny GPT-2: everywhere).
add_test(NAME cli.llm_trace.safetensors_in_python
         COMMAND bash -c "set -e; d=$(mktemp -d); trap 'rm -rf $d' EXIT; \"$0\" llm trace \"$1\" --prompt 'Hello world, hello again' --no-bos -o $d/out --save 'blocks.*.attn.hook_pattern,blocks.1.hook_resid_post' >/dev/null; /usr/bin/python3 \"$2\" $d/out 1"
                 $<TARGET_FILE:sinklab> ${CMAKE_CURRENT_SOURCE_DIR}/data/hf/gpt2 ${CMAKE_CURRENT_SOURCE_DIR}/tools/check_trace_safetensors.py)
set_tests_properties(cli.llm_trace.safetensors_in_python PROPERTIES PASS_REGULAR_EXPRESSION "ok: blocks.1.attn.hook_pattern" TIMEOUT 300)
set(_trace_model "${SINKLAB_TEST_MODEL}")
if(EXISTS "${_trace_model}")
  # By name: the setup's model resolves from the sinklab cache.
  add_test(NAME cli.llm_trace.smollm2_by_name
           COMMAND bash -c "set -e; d=$(mktemp -d); trap 'rm -rf $d' EXIT; \"$0\" llm trace SmolLM2-135M-Instruct --prompt 'The capital of France is' -o $d/out --save 'blocks.*.attn.hook_pattern,blocks.3.hook_resid_post' --zero-head L3H0; /usr/bin/python3 \"$1\" $d/out 3"
                   $<TARGET_FILE:sinklab> ${CMAKE_CURRENT_SOURCE_DIR}/tools/check_trace_safetensors.py)
  set_tests_properties(cli.llm_trace.smollm2_by_name PROPERTIES PASS_REGULAR_EXPRESSION "ok: blocks.3.attn.hook_pattern" TIMEOUT 600)
endif()
