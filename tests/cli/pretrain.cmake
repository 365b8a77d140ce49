# sinklab pretrain (language models on real text, data.task = lm): end to end at the
# tests' scale on the corpora shipped in data/domains, bad input, and bit-identical resume.
set(_lm_corpus "data.corpus=[\"prose=@DATA@/domains/prose_wikipedia.jsonl\",\"code=@DATA@/domains/code_python.jsonl\"]")

sinklab_cli_test(pretrain.tiny_end_to_end 0 "wrote .*emergence/report.html"
                 pretrain --preset tiny-lm --set ${_lm_corpus} -o run --scan-docs 2 --no-progress)
sinklab_cli_test(pretrain.json 0 "\"first_sink_head\""
                 pretrain --preset tiny-lm --set ${_lm_corpus} -o run --scan-docs 2 --no-progress --json)
sinklab_cli_test(pretrain.not_lm 2 "needs data.task = \"lm\"" pretrain --preset cpu-1l -o run)
sinklab_cli_test(pretrain.empty_corpus_list 2 "data.corpus is empty" pretrain --preset tiny-lm --set "data.corpus=[]" -o run)
sinklab_cli_test_prepared(pretrain.empty_corpus 2 "no non-empty" "printf '\\n' > e.jsonl"
                 pretrain --preset tiny-lm --set "data.corpus=[\"e=@SCRATCH@/e.jsonl\"]" -o run)
sinklab_cli_test_prepared(pretrain.not_utf8 2 "is not UTF-8" "printf 'abc \\377 def' > bad.txt"
                 pretrain --preset tiny-lm --set "data.corpus=[\"b=@SCRATCH@/bad.txt\"]" -o run)
sinklab_cli_test_prepared(pretrain.smaller_than_batch 2 "fewer than one batch needs"
                 "printf '{\"text\": \"tiny\"}\\n%.0s' 1 2 3 4 5 6 > s.jsonl"
                 pretrain --preset tiny-lm --set "data.corpus=[\"s=@SCRATCH@/s.jsonl\"]" -o run)
sinklab_cli_test(pretrain.bad_bos 2 "data.bos must be sequence, document or none"
                 pretrain --preset tiny-lm --set data.bos=first -o run)
sinklab_cli_test(pretrain.scan_ctx_past_model 2 "exceeds the model's context"
                 pretrain --preset tiny-lm --set ${_lm_corpus} -o run --scan-ctx 64 --scan-docs 2 --no-progress)
sinklab_cli_test_prepared(pretrain.analyze_refuses_lm_runs 2 "is a language-model run"
                 "\"$bin\" pretrain --preset tiny-lm --set \"data.corpus=['p=$DATA/domains/prose_wikipedia.jsonl']\" -o run --no-scan --no-progress >/dev/null 2>&1"
                 analyze run)

# Interrupted at step 20 and resumed: the same weights (sinklab's and the HF export)
# as a run that was never interrupted.
add_test(NAME cli.pretrain.resume_bit_identical
         COMMAND bash -c "set -e; d=$(mktemp -d); trap 'rm -rf $d' EXIT; cd $d; c=\"data.corpus=['prose=$1/domains/prose_wikipedia.jsonl','code=$1/domains/code_python.jsonl']\"; \"$0\" pretrain --preset tiny-lm --set \"$c\" -o a --no-scan --no-progress >/dev/null; set +e; \"$0\" pretrain --preset tiny-lm --set \"$c\" -o b --no-scan --no-progress --stop-after 20 >/dev/null 2>&1; rc=$?; set -e; test $rc = 130; \"$0\" pretrain --resume b --no-scan --no-progress >/dev/null; cmp a/checkpoints/step-40.safetensors b/checkpoints/step-40.safetensors; cmp a/hf/step40/model.safetensors b/hf/step40/model.safetensors; cmp a/val.jsonl b/val.jsonl; echo identical"
                 $<TARGET_FILE:sinklab> ${PROJECT_SOURCE_DIR}/data)
set_tests_properties(cli.pretrain.resume_bit_identical PROPERTIES PASS_REGULAR_EXPRESSION "identical" TIMEOUT 300)
