# sinklab model tensors: good files list their tensors; every malformed file from
# tests/tools/safetensors_interop.py (bad-*.safetensors) is a one-line error, exit 2.
sinklab_cli_test(safetensors.tensors.golden 0 "t_bf16 +BF16 +\\[4, 2\\] +16"
                 model tensors @TESTDATA@/safetensors/golden-library.safetensors)
sinklab_cli_test(safetensors.tensors.summary 0 "15 tensors, 261 bytes in 1 file"
                 model tensors @TESTDATA@/safetensors/golden-plain.safetensors)
sinklab_cli_test(safetensors.tensors.help 0 "safetensors" model tensors --help)
sinklab_cli_test(safetensors.tensors.missing 2 "cannot read .*nope.safetensors" model tensors @SCRATCH@/nope.safetensors)
sinklab_cli_test(safetensors.tensors.nofile 2 "FILE is required" model tensors)
foreach(pair
    "truncated|run past the end of the data section"
    "tiny|truncated: 3 bytes"
    "header-beyond-file|header length 4096 runs past the end of the file"
    "header-oversized|exceeds the limit of 100000000 bytes"
    "malformed-json|malformed JSON header"
    "not-object|header is not a JSON object"
    "dtype|unsupported dtype 'F8_E4M3'"
    "shape-mismatch|hold 20 bytes, but F32 \\[2,3\\] needs 24 bytes"
    "offsets-out-of-bounds|data_offsets \\[16, 40\\] run past the end"
    "offsets-reversed|end before they begin"
    "overlap|tensor 'b': data \\[12, 36\\) overlaps tensor 'a'"
    "duplicate|duplicate key 'w'"
    "negative-dim|negative dimension -2"
    "shape-overflow|shape has too many elements"
    "metadata|__metadata__ value of 'step' is not a string"
    "deep-nesting|header JSON is nested too deeply"
    "nul-in-header|header holds a NUL byte")
  string(REPLACE "|" ";" kv "${pair}")
  list(GET kv 0 bad)
  list(GET kv 1 msg)
  sinklab_cli_test(safetensors.bad.${bad} 2 "bad-${bad}.safetensors'.*${msg}"
                   model tensors @TESTDATA@/safetensors/bad-${bad}.safetensors)
endforeach()
