# sinklab llm ppl: the perplexity recipe of docs/parity.md; bad input gives one line, exit 2.
sinklab_cli_test(llm.ppl_help 0 "non-overlapping chunks" llm ppl --help)
sinklab_cli_test(llm.ppl_missing_model 2 "nope.gguf" llm ppl @SCRATCH@/nope.gguf @DATA@/domains/prose_wikipedia.jsonl --docs 1)
sinklab_cli_test(llm.ppl_not_gguf 2 "GGUF" llm ppl @TESTDATA@/tokenizer/spm_tiny.json @DATA@/domains/prose_wikipedia.jsonl --docs 1)
sinklab_cli_test(llm.ppl_ctx_1 2 "--ctx must be at least 2" llm ppl @TESTDATA@/gguf/ok_v3.gguf @DATA@/domains/prose_wikipedia.jsonl --ctx 1)
sinklab_cli_test(llm.ppl_missing_corpus 2 "nope.jsonl" llm ppl @TESTDATA@/gguf/ok_v3.gguf @SCRATCH@/nope.jsonl)

# With the test model (SINKLAB_TEST_MODEL, tests/CMakeLists.txt); added only where it exists.
set(_llm_model "${SINKLAB_TEST_MODEL}")
if(EXISTS "${_llm_model}")
  # 4 short documents at ctx 64 (several chunks each): a finite perplexity is printed.
  sinklab_cli_test(llm.ppl_smollm2 0 "perplexity [0-9]+\\.[0-9]+" llm ppl ${_llm_model} @DATA@/domains/prose_wikipedia.jsonl --docs 4 --ctx 64 --no-progress)
  sinklab_cli_test(llm.ppl_bad_corpus_line 2 "bad_corpus.jsonl.*2" llm ppl ${_llm_model} @TESTDATA@/llm/bad_corpus.jsonl)
  sinklab_cli_test(llm.ppl_smollm2_ctx_1 2 "--ctx must be at least 2" llm ppl ${_llm_model} @DATA@/domains/prose_wikipedia.jsonl --ctx 1)
else()
  message(STATUS "tests/cli/llm.cmake: ${_llm_model} absent, model CLI tests not added")
endif()
