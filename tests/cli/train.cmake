# sinklab train / analyze / intervene / reproduce: bad input gives one line and exit 2.
sinklab_cli_test(train.help 0 "Keys" train --help)
sinklab_cli_test(train.presets 0 "cpu-1l" train --list-presets)
sinklab_cli_test(train.show 0 "d_model = 64" train --preset cpu-1l --show-config)
sinklab_cli_test(train.bad.unknown_key 2 "unknown key 'model.layerz' \\(valid: model.layers" train @TESTDATA@/train/unknown_key.toml)
sinklab_cli_test(train.bad.wrong_type 2 "key 'train.lr' must be a number" train @TESTDATA@/train/wrong_type.toml)
sinklab_cli_test(train.bad.not_divisible 2 "d_model = 10 is not divisible by model.heads = 3" train @TESTDATA@/train/not_divisible.toml)
sinklab_cli_test(train.bad.malformed 2 "malformed TOML" train @TESTDATA@/train/malformed.toml)
sinklab_cli_test(train.bad.short_context 2 "must exceed n_bos" train @TESTDATA@/train/short_context.toml --set run.out_dir=@SCRATCH@/runs)
sinklab_cli_test(train.bad.set_key 2 "unknown key 'train.lrr'" train --preset tiny --set train.lrr=1)
sinklab_cli_test(train.bad.set_type 2 "key 'train.steps' must be" train --preset tiny --set train.steps=many)
sinklab_cli_test(train.bad.preset 2 "unknown preset 'huge'" train --preset huge)
sinklab_cli_test(train.bad.unwritable 2 "cannot create directory|not writable" train --preset tiny --set run.out_dir=/proc/sinklab-runs)
sinklab_cli_test(train.bad.resume_missing 2 "is not a run directory" train --resume @SCRATCH@/nothing)
sinklab_cli_test(train.bad.device 2 "train.device must be cpu or cuda" train --preset tiny --device tpu)
sinklab_cli_test(analyze.bad.notrun 2 "is not a run directory" analyze @SCRATCH@)
sinklab_cli_test(intervene.bad.notrun 2 "is not a run directory" intervene @SCRATCH@)
sinklab_cli_test(reproduce.bad.source 2 "cannot read" reproduce --out @SCRATCH@/o --source text:/nonexistent.txt)
sinklab_cli_test(reproduce.bad.key 2 "unknown key 'train.nope'" reproduce --out @SCRATCH@/o --set train.nope=1)
# A non-finite loss stops the run (exit 3) and names the last good checkpoint (SGD at lr 9.9
# without weight decay: the loss of the tiny preset is NaN at step 9, deterministically).
sinklab_cli_test(train.diverged 3 "^sinklab: error: training diverged: loss is (nan|inf|-inf) at step [0-9]+. the last good checkpoint is .*/div/checkpoints/step-0\\.safetensors$"
  train --preset tiny --set train.optimizer=sgd --set train.lr=9.9 --set train.weight_decay=0
  --set run.out_dir=@SCRATCH@ --set run.name=div --no-progress)
sinklab_cli_test(reproduce.bad.seeds 2 "--seeds = 0 must be in" reproduce --out @SCRATCH@/o --seeds 0)
sinklab_cli_test(reproduce.bad.source_name 2 "shakespear" reproduce --out @SCRATCH@/o --source shakespear)
sinklab_cli_test(reproduce.bad.counts 2 "nonexistent" reproduce --out @SCRATCH@/o --source counts:/nonexistent.json)
sinklab_cli_test(train.bad.init 2 "unknown init scheme 'xavier'" train --preset tiny --set model.init=xavier --set run.out_dir=@SCRATCH@)
sinklab_cli_test(train.bad.attention 2 "unknown attention kind 'softmax2' \\(valid: softmax, relu, softmax1, sigmoid, sink-logit, clipped-softmax\\)"
  train --preset tiny --set model.attention=softmax2 --set run.out_dir=@SCRATCH@)
sinklab_cli_test(train.bad.qk_norm 2 "unknown qk-norm mode 'both'" train --preset tiny --set model.qk_norm=both --set run.out_dir=@SCRATCH@)
# A variant with parameters of its own and the qk-norm switch train, checkpoint and analyse
# through the same paths as every other model (the learned sink logit is in the checkpoint).
add_test(NAME cli.train.sink_logit_qk_norm
         COMMAND bash -c "d=$(mktemp -d) && trap 'rm -rf $d' EXIT && \"$0\" train --preset tiny --set model.attention=sink-logit --set model.qk_norm=head --set train.steps=20 --set run.out_dir=$d --set run.name=r --no-progress >/dev/null && \"$0\" analyze $d/r --no-figures 2>/dev/null | grep -q L0H0 && \"$0\" intervene $d/r --head L0H0 --kind zero-head >/dev/null && \"$0\" model tensors $d/r/checkpoints/step-20.safetensors"
                 $<TARGET_FILE:sinklab>)
set_tests_properties(cli.train.sink_logit_qk_norm PROPERTIES
    PASS_REGULAR_EXPRESSION "blocks\\.0\\.attn\\.sink.*blocks\\.0\\.attn\\.q_norm\\.w|blocks\\.0\\.attn\\.q_norm\\.w.*blocks\\.0\\.attn\\.sink"
    TIMEOUT 300)
sinklab_cli_test(train.bad.attn_gate 2 "unknown attention gate 'channel' \\(valid: none, head, element\\)" train --preset tiny --set model.attn_gate=channel --set run.out_dir=@SCRATCH@)
sinklab_cli_test(train.bad.clip_zeta 2 "model.clip_zeta = 0.5 must be >= 1" train --preset tiny --set model.clip_zeta=0.5 --set run.out_dir=@SCRATCH@)
sinklab_cli_test(train.bad.muon_lr 2 "train.muon_lr = 0 must be in" train --preset tiny --set train.muon_lr=0 --set run.out_dir=@SCRATCH@)
sinklab_cli_test(lab.bad.seeds 2 "--seeds = 0 must be in \\[1, 64\\]" lab --quick --seeds 0 -o @SCRATCH@/lab)
sinklab_cli_test(lab.bad.device 2 "--device must be cpu or cuda, got 'tpu'" lab --quick --device tpu -o @SCRATCH@/lab)
sinklab_cli_test(train.bad.optimizer 2 "train.optimizer must be adamw, sgd or muon, got 'lion'" train --preset tiny --set train.optimizer=lion --set run.out_dir=@SCRATCH@)
# Every attention variant, output gate and optimizer trains on the BB task and is analysed
# through the same paths (the mitigation lab's cells).
add_test(NAME cli.train.every_variant_trains
         COMMAND bash -c "d=$(mktemp -d) && trap 'rm -rf $d' EXIT && for s in model.attention=softmax model.attention=relu model.attention=softmax1 model.attention=sigmoid model.attention=sink-logit model.attention=clipped-softmax model.attn_gate=head model.attn_gate=element train.optimizer=sgd train.optimizer=muon train.weight_decay=0; do n=$(echo $s | tr '=.' '__'); \"$0\" train --preset tiny --set $s --set train.steps=20 --set run.out_dir=$d --set run.name=$n --no-progress >/dev/null || { echo \"$s: train failed\"; exit 1; }; \"$0\" analyze $d/$n --no-figures >/dev/null 2>&1 || { echo \"$s: analyze failed\"; exit 1; }; done; echo all-trained"
                 $<TARGET_FILE:sinklab>)
set_tests_properties(cli.train.every_variant_trains PROPERTIES PASS_REGULAR_EXPRESSION "all-trained" TIMEOUT 300)
sinklab_cli_test(train.list_attention 0 "sink-logit +exp\\(l\\) / \\(exp\\(s_h\\)" train --list-attention)
sinklab_cli_test(train.bad.schedule 2 "train.schedule must be constant, cosine or wsd, got 'linear'" train --preset tiny --set train.schedule=linear --set run.out_dir=@SCRATCH@)
# The example configs in configs/ are the presets as --show-config prints them (every key, with its help).
add_test(NAME cli.train.configs_are_presets
         COMMAND bash -c "for f in \"$1\"/configs/*.toml; do n=$(basename $f .toml); diff -u $f <(\"$0\" train --preset $n --show-config) || { echo \"configs/$n.toml differs from --preset $n --show-config\"; exit 1; }; done"
                 $<TARGET_FILE:sinklab> ${PROJECT_SOURCE_DIR})
