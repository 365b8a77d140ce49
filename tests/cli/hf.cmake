# Hugging Face model directories (tests/data/hf, from tests/tools/make_hf_tiny.py):
# `model info DIR`, `model series`, and one-line errors (exit 2) for bad directories.
sinklab_cli_test(hf.info_llama 0 "model_type +llama" model info @TESTDATA@/hf/llama)
sinklab_cli_test(hf.info_neox 0 "rotary 4 of 16 dims" model info @TESTDATA@/hf/gpt_neox)
sinklab_cli_test(hf.info_sharded_json 0 "\"n_shards\": 4" model info --json @TESTDATA@/hf/llama_sharded)
sinklab_cli_test(hf.info_bf16 0 "BF16 x" model info @TESTDATA@/hf/llama_bf16)
sinklab_cli_test(hf.no_config 2 "has no config.json" model info @TESTDATA@/hf/bad_no_config)
sinklab_cli_test(hf.missing_dir 2 "nope.*cannot open" model info @SCRATCH@/nope/)
sinklab_cli_test(hf.unknown_model_type 2 "config.json': key \"model_type\": unsupported model_type 'bert'" model info @TESTDATA@/hf/bad_model_type)
sinklab_cli_test(hf.missing_key 2 "config.json': missing key \"n_embd\"" model info @TESTDATA@/hf/bad_missing_key)
sinklab_cli_test(hf.key_type 2 "key \"n_head\": expected an integer" model info @TESTDATA@/hf/bad_key_type)
sinklab_cli_test(hf.heads 2 "n_embd 8 is not divisible by 3 heads" model info @TESTDATA@/hf/bad_heads)
sinklab_cli_test(hf.bad_shape 2 "model.safetensors': tensor 'transformer.h.0.attn.c_attn.weight' has shape \\[8, 16\\], but config.json implies \\[8, 24\\]" model info @TESTDATA@/hf/bad_shape)
sinklab_cli_test(hf.bad_dtype 2 "tensor 'transformer.h.0.mlp.c_fc.bias' has dtype I32" model info @TESTDATA@/hf/bad_dtype)
sinklab_cli_test(hf.missing_tensor 2 "missing tensor 'transformer.ln_f.bias'" model info @TESTDATA@/hf/bad_missing_tensor)
# Checkpoint series.
sinklab_cli_test(hf.series_dir 0 "^ +200 +llama " model series @TESTDATA@/hf/series)
sinklab_cli_test(hf.series_count 0 "^3 checkpoints" model series @TESTDATA@/hf/series)
sinklab_cli_test(hf.series_list_json 0 "\"step\": 30000" model series --json @TESTDATA@/hf/series/step30000 @TESTDATA@/hf/series/step1000)
sinklab_cli_test(hf.series_no_step 2 "no step number in its name" model series @TESTDATA@/hf/series/main)
sinklab_cli_test(hf.series_duplicate 2 "are both step 200" model series @TESTDATA@/hf/series/step200 @TESTDATA@/hf/series/step200)
sinklab_cli_test(hf.series_not_model 2 "no config.json and no revision" model series @TESTDATA@/hf/bad_no_config)
sinklab_cli_test(hf.series_help 0 "step<N>" model series --help)
if(SINKLAB_TORCH)
  # llm run / ppl on directories go through load_pretrained.
  sinklab_cli_test(hf.ppl_no_tokenizer 2 "has no tokenizer" llm ppl @TESTDATA@/hf/llama @DATA@/domains/prose_wikipedia.jsonl --docs 1)
  sinklab_cli_test(hf.ppl_bad_shape 2 "has shape \\[8, 16\\]" llm ppl @TESTDATA@/hf/bad_shape @DATA@/domains/prose_wikipedia.jsonl --docs 1)
  sinklab_cli_test(hf.run_bad_model_type 2 "unsupported model_type 'bert'" llm run @TESTDATA@/hf/bad_model_type --prompt hello)
  sinklab_cli_test(hf.ppl_gpt2 0 "perplexity [0-9]+\\.[0-9]+" llm ppl @TESTDATA@/hf/gpt2 @DATA@/domains/prose_wikipedia.jsonl --docs 2 --ctx 32 --no-bos --no-progress)
  sinklab_cli_test(hf.run_gpt2 0 "prompt tokens" llm run @TESTDATA@/hf/gpt2 --prompt "Hello world" --no-bos)
  sinklab_cli_test(hf.run_positional_prompt 0 "prompt tokens" llm run @TESTDATA@/hf/gpt2 "Hello world" --no-bos)
  sinklab_cli_test(hf.run_json 0 "\"logit\": " llm run @TESTDATA@/hf/gpt2 "Hello world" --no-bos --json)
  sinklab_cli_test(hf.generate_greedy_json 0 "\"stopped\": " llm generate @TESTDATA@/hf/gpt2 "Hello" -n 4 --no-bos --json)
  sinklab_cli_test(hf.generate_sampled 0 "\\[[0-9]+ tokens" llm generate @TESTDATA@/hf/gpt2 "Hello" -n 4 --no-bos --temperature 0.8 --top-k 20 --top-p 0.9)
  sinklab_cli_test(hf.generate_no_chatml 2 "no ChatML tokens" llm generate @TESTDATA@/hf/gpt2 "Hello" --chat)
  sinklab_cli_test(hf.ppl_json 0 "\"perplexity\": [0-9]" llm ppl @TESTDATA@/hf/gpt2 @DATA@/domains/prose_wikipedia.jsonl --docs 2 --ctx 32 --no-bos --json)
endif()
# Sink scan over a checkpoint series (tiny llama revisions with a byte-level tokenizer).
sinklab_cli_test(hf.scan_series 0 "step +30000 +prose +dormant heads +[0-9]+/2 "
  llm scan-series @TESTDATA@/hf/series --domain prose=@DATA@/domains/prose_wikipedia.jsonl
  --docs 2 --ctx 24 --no-bos --no-progress --out @SCRATCH@/series)
# The series summary carries the outlier metrics per checkpoint (issue 18).
add_test(NAME cli.hf.scan_series_outliers
         COMMAND bash -c "d=$(mktemp -d) && trap 'rm -rf $d' EXIT && \"$0\" llm scan-series $1/hf/series --domain prose=$2 --docs 2 --ctx 24 --no-bos --no-progress --out $d/s >/dev/null 2>&1 && head -1 $d/s/series_summary.csv | grep -q 'max_over_median,kurtosis_resid,kurtosis_attn,loss,loss_w8a8,w8a8_increase' && awk -F, 'NR > 1 && $NF != \"\" && $NF != \"nan\" { n++ } END { if (n >= 2) print \"outliers-ok\" }' $d/s/series_summary.csv"
         $<TARGET_FILE:sinklab> ${CMAKE_SOURCE_DIR}/tests/data ${CMAKE_SOURCE_DIR}/data/domains/prose_wikipedia.jsonl)
set_tests_properties(cli.hf.scan_series_outliers PROPERTIES PASS_REGULAR_EXPRESSION "outliers-ok" TIMEOUT 300)
sinklab_cli_test(hf.scan_series_bad_tokenizer 2 "the tokenizer has [0-9]+ tokens but the model only 256"
  llm scan-series @TESTDATA@/hf/series/step200 --tokenizer @TESTDATA@/hf_tok/bpe2k/tokenizer.json
  --domain p=@DATA@/domains/prose_wikipedia.jsonl --no-progress)
sinklab_cli_test(hf.scan_series_no_step 2 "no step number in its name"
  llm scan-series @TESTDATA@/hf/series/main --domain p=@DATA@/domains/prose_wikipedia.jsonl)
sinklab_cli_test(hf.scan_series_bad_domain 2 "expected NAME=PATH"
  llm scan-series @TESTDATA@/hf/series --domain prose)
sinklab_cli_test(hf.scan_series_bad_ctx 2 "--ctx = 1 must be in \\[2, 1048576\\]"
  llm scan-series @TESTDATA@/hf/series --domain p=@DATA@/domains/prose_wikipedia.jsonl --ctx 1)
sinklab_cli_test(hf.scan_series_missing_tokenizer 2 "no-such-tokenizer"
  llm scan-series @TESTDATA@/hf/series --tokenizer @SCRATCH@/no-such-tokenizer.json
  --domain p=@DATA@/domains/prose_wikipedia.jsonl)
# RoPE scaling and layer types (tests/tools/make_hf_arch.py): one line naming the key.
sinklab_cli_test(hf.rope_type 2 "key \"rope_scaling.rope_type\": unsupported RoPE scaling 'su'" model info @TESTDATA@/hf/bad_rope_type)
sinklab_cli_test(hf.rope_factor 2 "key \"rope_scaling.factor\": expected a number" model info @TESTDATA@/hf/bad_rope_factor)
sinklab_cli_test(hf.layer_types 2 "key \"layer_types\": layer 1 has type 'chunked_attention'" model info @TESTDATA@/hf/bad_layer_types)
sinklab_cli_test(hf.info_gemma3 0 "sliding window +4 on layers 0 \\(1 of 2\\)" model info @TESTDATA@/hf/gemma3)
# Where and in which dtype a model runs (--weights, --device, --dtype on every llm command).
if(SINKLAB_TORCH)
  sinklab_cli_test(hf.run_bf16 0 "prompt tokens" llm run @TESTDATA@/hf/gpt2 "Hello world" --no-bos --dtype bfloat16)
  sinklab_cli_test(hf.run_weights_float32 0 "prompt tokens" llm run @TESTDATA@/hf/gpt2 "Hello world" --no-bos --weights float32)
  sinklab_cli_test(hf.run_bad_dtype 2 "--dtype: int8 not in" llm run @TESTDATA@/hf/gpt2 "Hello" --dtype int8)
  sinklab_cli_test(hf.run_bad_weights 2 "--weights: q4 not in" llm run @TESTDATA@/hf/gpt2 "Hello" --weights q4)
  sinklab_cli_test(hf.scan_bad_device 2 "--device: tpu not in" llm scan @TESTDATA@/hf/gpt2 --domain p=@DATA@/domains/prose_wikipedia.jsonl --device tpu)
  sinklab_cli_test(hf.run_cuda_absent 2 "--device cuda: this LibTorch has no CUDA or no GPU is visible"
    llm run @TESTDATA@/hf/gpt2 "Hello" --no-bos --device cuda)
endif()
