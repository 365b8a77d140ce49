# `sinklab llm scan`: bad input gives a one-line error and exit code 2. Cases that
# fail before the model is opened need no model; the others run only when
# SmolLM2-135M-Instruct.gguf is in the sinklab cache.
set(_llm_corpus "prose=@DATA@/domains/prose_wikipedia.jsonl")
sinklab_cli_test(llm_scan.help 0 "--ablate" llm scan --help)
sinklab_cli_test(llm_scan.domain_without_eq 2 "--domain 'prose': expected NAME=PATH"
                 llm scan none.gguf --domain prose)
sinklab_cli_test(llm_scan.domain_twice 2 "domain 'p' given twice"
                 llm scan none.gguf --domain p=@TESTDATA@/llm_scan/short.jsonl --domain p=@TESTDATA@/llm_scan/short.jsonl)
sinklab_cli_test(llm_scan.malformed_line 2 "malformed.jsonl':2: malformed JSON line"
                 llm scan none.gguf --domain p=@TESTDATA@/llm_scan/malformed.jsonl)
sinklab_cli_test(llm_scan.line_without_text 2 "notext.jsonl':2: expected an object with a \"text\" string"
                 llm scan none.gguf --domain p=@TESTDATA@/llm_scan/notext.jsonl)
sinklab_cli_test(llm_scan.empty_corpus 2 "empty.jsonl': corpus has no non-empty documents"
                 llm scan none.gguf --domain p=@TESTDATA@/llm_scan/empty.jsonl)
sinklab_cli_test(llm_scan.missing_corpus 2 "nothere.jsonl"
                 llm scan none.gguf --domain p=@SCRATCH@/nothere.jsonl)
sinklab_cli_test(llm_scan.sink_outside_context 2 "--sink-pos 40 is outside the context \\(valid: 0..30 for --ctx 32\\)"
                 llm scan none.gguf --domain ${_llm_corpus} --ctx 32 --sink-pos 40)
sinklab_cli_test(llm_scan.bad_ablate_kind 2 "--ablate-kind 'oracle-pattern': the scan ablates with zero-head or attend-sink"
                 llm scan none.gguf --domain ${_llm_corpus} --ablate-kind oracle-pattern)
sinklab_cli_test(llm_scan.bos_flags 2 "--no-bos and --both-bos"
                 llm scan none.gguf --domain ${_llm_corpus} --no-bos --both-bos)
# Validated before any work (issue 20): sizes, the output place, the model's context.
sinklab_cli_test(llm_scan.domain_tab 2 "--domain: the name 'a\\?b' must be 1-64 letters, digits"
                 llm scan none.gguf --domain "a\tb=@DATA@/domains/prose_wikipedia.jsonl")
sinklab_cli_test(llm_scan.sample_tokens_zero 2 "--sample-tokens = 0 must be in \\[2, 512\\]"
                 llm scan none.gguf --domain ${_llm_corpus} --sample-tokens 0)
sinklab_cli_test(llm_scan.resamples_huge 2 "--resamples = 2000000000 must be in \\[1, 1000000\\]"
                 llm scan none.gguf --domain ${_llm_corpus} --resamples 2000000000)
sinklab_cli_test(llm_scan.ctx_overflow 2 "--ctx = 2147483647 must be in \\[2, 1048576\\]"
                 llm scan none.gguf --domain ${_llm_corpus} --ctx 2147483647)
sinklab_cli_test_prepared(llm_scan.out_is_file 2 "output directory 'f' exists and is not a directory" "touch f"
                 llm scan @TESTDATA@/gguf/ok_v3.gguf --domain ${_llm_corpus} --out f)
set(_llm_model "${SINKLAB_TEST_MODEL}")
if(EXISTS "${_llm_model}")
  # A corpus full of printf formats, quotes and backquotes reaches gnuplot as token labels
  # (attention-pattern figures): the scan still ends in its report.
  sinklab_cli_test(llm_scan.percent_labels 0 "report.html"
                   llm scan ${_llm_model} --domain p=@TESTDATA@/llm_scan/percent.jsonl --ctx 32 --docs 3
                   --ablate none --no-attribution --no-progress --out @SCRATCH@/scan)
  # One domain: heads by sink mass with column headers, never "p - p" (issue 15).
  sinklab_cli_test(llm_scan.one_domain 0 "^ +head +mass +state +95% CI$"
                   llm scan ${_llm_model} --domain p=@TESTDATA@/llm_scan/percent.jsonl --ctx 32 --docs 2
                   --ablate none --no-attribution --no-progress --out @SCRATCH@/scan)
  sinklab_cli_test(llm_scan.ctx_past_model 2 "--ctx = 9000 exceeds the model's context of 8192 tokens"
                   llm scan ${_llm_model} --domain ${_llm_corpus} --ctx 9000 --out @SCRATCH@/o)
  sinklab_cli_test(llm.ppl_ctx_past_model 2 "--ctx = 9000 exceeds the model's context of 8192 tokens"
                   llm ppl ${_llm_model} @DATA@/domains/prose_wikipedia.jsonl --ctx 9000)
  sinklab_cli_test_prepared(llm.trace_invalid_utf8 2 "'bad.txt' is not valid UTF-8 text \\(invalid byte 0xff at offset 2\\)"
                   "printf 'ab\\377' > bad.txt" llm trace ${_llm_model} --file bad.txt --out @SCRATCH@/t)
  sinklab_cli_test(llm_scan.all_docs_short 2 "domain 'p': no document has the 33 tokens needed \\(3 skipped as shorter\\)"
                   llm scan ${_llm_model} --domain p=@TESTDATA@/llm_scan/short.jsonl --ctx 32 --no-progress)
  sinklab_cli_test(llm_scan.unknown_head 2 "unknown head 30.0 \\(the model has layers 0..29 and heads 0..8\\)"
                   llm scan ${_llm_model} --domain ${_llm_corpus} --ctx 32 --docs 1 --ablate 1.2,30.0 --no-progress)
  sinklab_cli_test(llm_scan.bad_head 2 "'1x2' is not a head"
                   llm scan ${_llm_model} --domain ${_llm_corpus} --ctx 32 --docs 1 --ablate 1x2 --no-progress)
  sinklab_cli_test(llm_scan.tiny_run 0 "wrote [0-9]+ CSV files"
                   llm scan ${_llm_model} --domain ${_llm_corpus} --domain code=@DATA@/domains/code_python.jsonl
                   --ctx 16 --docs 2 --ablate 0.0,3.1 --resamples 50 --sample-tokens 8 --out @SCRATCH@/out --no-progress)
  # --force replaces an earlier scan whole: no ablation.csv of the first survives a
  # second scan without ablation (issue 20).
  add_test(NAME cli.llm_scan.force_replaces_whole
           COMMAND bash -c "d=$(mktemp -d) && trap 'rm -rf $d' EXIT && s=\"$0 llm scan $1 --domain p=$2 --ctx 16 --docs 2 --no-attribution --no-progress --out $d/o\" && $s --ablate 0.0 >/dev/null 2>&1 && test -f $d/o/ablation.csv && $s --ablate none --force >/dev/null 2>&1 && test -f $d/o/report.html && grep -q ^config,domain,docs,layer,max_abs $d/o/outliers.csv && ! test -e $d/o/ablation.csv && echo replaced"
                   $<TARGET_FILE:sinklab> ${_llm_model} ${CMAKE_SOURCE_DIR}/data/domains/prose_wikipedia.jsonl)
  set_tests_properties(cli.llm_scan.force_replaces_whole PROPERTIES PASS_REGULAR_EXPRESSION "^replaced" TIMEOUT 300)
endif()
