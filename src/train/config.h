// The toy-training config: every key of a run's config.toml, with its default.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/bb.h"
#include "io/config.h"
#include "model/spec.h"

namespace sinklab {

struct TrainConfig {
  // [model]
  int layers = 1, heads = 1, d_model = 256, d_ff = 0;
  std::string attention = "softmax", norm = "layernorm";
  std::string qk_norm = "none";
  std::string attn_gate = "none";  // none | head | element
  double clip_alpha = 4.0, clip_zeta = 1.0;  // clipped-softmax
  std::string init = "torch-default";  // torch-default (the paper's code) | gpt2
  bool post_norm = false;
  std::string pos = "learned";  // learned | rope | none
  std::string mlp = "relu";     // relu | gelu | swiglu (parse_mlp_kind)
  int kv_heads = 0;             // 0 = heads
  bool tied_embeddings = false;
  double rope_theta = 10000.0;
  std::vector<int> no_attn_layers, no_mlp_layers, linear_mlp_layers;
  // [data]
  std::string source = "synthetic", task = "bb";
  int seq_len = 256, triggers_top = 3, n_bos = 1;
  std::vector<std::string> triggers;
  double mix_p = 0.5;
  // task = "lm" (src/data/lm_corpus.h): real text, byte-level tokens
  std::vector<std::string> corpus;  // "NAME=PATH" domains
  std::string bos = "sequence";     // sequence | document | none
  double val_frac = 0.01;
  int val_seqs = 16;                // held-out windows per domain at each checkpoint
  // [train]
  std::string optimizer = "adamw";
  double lr = 3e-4, beta1 = 0.9, beta2 = 0.99, eps = 1e-8, weight_decay = 1e-4, momentum = 0.9;
  double muon_lr = 0.02, muon_momentum = 0.95;  // optimizer = muon: the matrices
  std::string schedule = "constant";  // constant | cosine | wsd
  int64_t warmup_steps = 0;
  double decay_frac = 0.2, min_lr_ratio = 0.0;
  int batch_size = 512;
  int64_t steps = 10000;
  int64_t seed = 0;
  int log_every = 10;
  std::string device = "cpu";
  int threads = 0;  // 0 = all cores
  // [checkpoints]
  int64_t dense_every = 5, dense_until = 200;
  std::string sparse = "log";  // "log" or "every"
  int64_t sparse_every = 500;
  int per_decade = 12;  // log-spaced checkpoints per decade of steps
  // [run]
  std::string name = "run";
  std::string out_dir = "runs";

  bool is_lm() const { return task == "lm"; }
  void describe(ConfigSchema& s);
  void validate() const;  // InputError naming the bad key
  ModelSpec model_spec(int vocab) const;
  TaskConfig task_config() const;  // BB tasks only
  // The learning rate of the update that ends step `done` (1-based): linear warmup over
  // warmup_steps, then constant, cosine down to min_lr_ratio * lr at the last step, or
  // wsd (warmup-stable-decay: constant, then linear down to min_lr_ratio * lr over the
  // last decay_frac of the steps).
  double lr_at(int64_t done) const;
};

// Built-in presets, as TOML text: paper-1l, paper-3l, paper-1l-relu, paper-3l-sgd,
// paper-3l-relu, cpu-1l, cpu-3l, cpu-1l-relu, cpu-3l-sgd, cpu-3l-relu, tiny (BB), and
// the language-model presets of `sinklab pretrain` (lm_preset_names()).
std::vector<std::string> preset_names();
std::vector<std::string> lm_preset_names();  // cpu-lm, gpu-lm, tiny-lm
std::string preset_toml(const std::string& name);  // InputError for unknown names

// Loads preset and/or file, then the --set overrides, validates.
TrainConfig load_train_config(const std::string& preset, const std::string& file,
                              const std::vector<std::string>& sets);

}  // namespace sinklab
