# sinklab llm tokenize with Hugging Face tokenizers (directory, tokenizer.json,
# tokenizer.model); ids as transformers 4.44.2 gives them (make_hf_tokenizers.py).
sinklab_cli_test(hftok.bpe2k_dir 0 "ids: 40 432 381 284 1334 1$" llm tokenize @TESTDATA@/hf_tok/bpe2k --text "Hello world!")
sinklab_cli_test(hftok.llama3_json 0 "\"pre\":\"Split\\+ByteLevel\"" llm tokenize @TESTDATA@/hf_tok/bpe2k_llama3/tokenizer.json --json --text "Hello world!")
sinklab_cli_test(hftok.spm_dir 0 "ids: 1 376 338 421 286 270 770 989$" llm tokenize @TESTDATA@/hf_tok/spm1k --text "Hello world!")
sinklab_cli_test(hftok.spm_model_no_bos 0 "ids: 376 338 421 286 270 770 989$" llm tokenize @TESTDATA@/hf_tok/spm1k/tokenizer.model --no-bos --text "Hello world!")
sinklab_cli_test(hftok.empty_dir 2 "has no tokenizer.json or tokenizer.model" llm tokenize @SCRATCH@ --text hi)
sinklab_cli_test(hftok.not_json 2 "not_json.json.*malformed JSON" llm tokenize @TESTDATA@/hf_tok/bad/not_json.json --text hi)
sinklab_cli_test(hftok.unknown_merge 2 "unknown_merge.json.*'zz', which is not in the vocabulary" llm tokenize @TESTDATA@/hf_tok/bad/unknown_merge.json --text hi)
sinklab_cli_test(hftok.wordpiece 2 "wordpiece.json.*unsupported tokenizer model type 'WordPiece'" llm tokenize @TESTDATA@/hf_tok/bad/wordpiece.json --text hi)
sinklab_cli_test(hftok.truncated_model 2 "truncated.model" llm tokenize @TESTDATA@/hf_tok/bad/truncated.model --text hi)
sinklab_cli_test(hftok.missing_json 2 "cannot read" llm tokenize @SCRATCH@/tokenizer.json --text hi)
