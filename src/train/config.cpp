#include "train/config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "data/lm_corpus.h"
#include "io/error.h"
#include "model/attention.h"

namespace sinklab {

void TrainConfig::describe(ConfigSchema& s) {
  s.add("model.layers", &layers, "number of transformer blocks");
  s.add("model.heads", &heads, "attention heads per block");
  s.add("model.d_model", &d_model, "residual width");
  s.add("model.d_ff", &d_ff, "MLP width (0 = 4 * d_model)");
  s.add("model.attention", &attention, attn_variants_help());
  s.add("model.qk_norm", &qk_norm, "none | head | full: RMSNorm on queries and keys before attention (Qwen3: head, OLMo-2: full)");
  s.add("model.attn_gate", &attn_gate,
        "none | head | element: sigmoid gate on each head's output from the attention's input (Qiu et al. 2025)");
  s.add("model.clip_alpha", &clip_alpha, "clipped-softmax: gamma = -clip_alpha / n (n visible keys)");
  s.add("model.clip_zeta", &clip_zeta, "clipped-softmax: stretch to zeta (>= 1) before clipping to [0, 1]");
  s.add("model.norm", &norm, "layernorm | rmsnorm");
  s.add("model.init", &init,
        "parameter init: torch-default (torch.nn defaults, as the paper's code: embeddings N(0,1), "
        "matrices U(+-1/sqrt(fan_in))) | gpt2 (N(0,0.02), residual projections 0.02/sqrt(2L))");
  s.add("model.post_norm", &post_norm, "norm after the residual add (post-norm)");
  s.add("model.pos", &pos, "positions: learned (absolute embeddings) | rope (rotary, HF halves) | none");
  s.add("model.mlp", &mlp, "MLP: relu | gelu | swiglu (gated, as Llama)");
  s.add("model.kv_heads", &kv_heads, "key/value heads (grouped-query attention; 0 = model.heads)");
  s.add("model.tied_embeddings", &tied_embeddings, "unembedding shares the token embedding");
  s.add("model.rope_theta", &rope_theta, "rotary base (model.pos = rope)");
  s.add("model.no_attn_layers", &no_attn_layers, "layers without attention");
  s.add("model.no_mlp_layers", &no_mlp_layers, "layers without MLP");
  s.add("model.linear_mlp_layers", &linear_mlp_layers, "layers whose MLP has no nonlinearity");
  s.add("data.source", &source,
        "shakespeare (Tiny Shakespeare counts, built in) | synthetic[:V[:SEED]] | counts:FILE.json | text:FILE");
  s.add("data.task", &task, "bb | markov | bb-mix | bietti | lm (language modelling on data.corpus)");
  s.add("data.seq_len", &seq_len, "sequence length T (model context)");
  s.add("data.triggers_top", &triggers_top, "triggers = k most frequent tokens");
  s.add("data.triggers", &triggers, "explicit trigger tokens");
  s.add("data.n_bos", &n_bos, "number of BOS tokens");
  s.add("data.mix_p", &mix_p, "bb-mix backcopy probability");
  s.add("data.corpus", &corpus,
        "lm: domains \"NAME=PATH\" (a .jsonl of {\"text\": ...}, a text file, or a directory of text and source "
        "files), byte-level tokens");
  s.add("data.bos", &bos,
        "lm: sequence (every sequence starts with BOS) | document (BOS before each document, windows anywhere) | "
        "none");
  s.add("data.val_frac", &val_frac, "lm: share of each domain's documents held out for validation");
  s.add("data.val_seqs", &val_seqs, "lm: held-out windows per domain scored at each checkpoint");
  s.add("train.optimizer", &optimizer,
        "adamw | sgd | muon (Newton-Schulz orthogonalised momentum for the blocks' matrices, AdamW at train.lr for "
        "embeddings, norms and biases)");
  s.add("train.lr", &lr, "learning rate");
  s.add("train.schedule", &schedule,
        "lr schedule: constant | cosine (to min_lr_ratio * lr at the last step) | wsd (constant, then linear "
        "down to min_lr_ratio * lr over the last decay_frac of the steps); both after warmup_steps");
  s.add("train.warmup_steps", &warmup_steps, "steps of linear lr warmup from 0 (0 = none)");
  s.add("train.decay_frac", &decay_frac, "wsd: share of the steps in the final linear decay");
  s.add("train.min_lr_ratio", &min_lr_ratio, "cosine / wsd: final lr as a share of train.lr");
  s.add("train.beta1", &beta1, "AdamW beta1");
  s.add("train.beta2", &beta2, "AdamW beta2");
  s.add("train.eps", &eps, "AdamW epsilon");
  s.add("train.weight_decay", &weight_decay, "weight decay");
  s.add("train.momentum", &momentum, "SGD momentum");
  s.add("train.muon_lr", &muon_lr, "muon: learning rate of the matrices (scheduled as train.lr)");
  s.add("train.muon_momentum", &muon_momentum, "muon: Nesterov momentum of the matrices");
  s.add("train.batch_size", &batch_size, "sequences per step");
  s.add("train.steps", &steps, "optimizer steps");
  s.add("train.seed", &seed, "seed of init and data");
  s.add("train.log_every", &log_every, "steps between metrics lines");
  s.add("train.device", &device, "cpu | cuda");
  s.add("train.threads", &threads, "CPU threads for compute (0 = all)");
  s.add("checkpoints.dense_every", &dense_every, "checkpoint every n steps early on");
  s.add("checkpoints.dense_until", &dense_until, "end of the dense phase (step)");
  s.add("checkpoints.sparse", &sparse, "log | every");
  s.add("checkpoints.sparse_every", &sparse_every, "sparse interval when sparse = every");
  s.add("checkpoints.per_decade", &per_decade, "log-spaced checkpoints per decade when sparse = log");
  s.add("run.name", &name, "run name (directory under out_dir)");
  s.add("run.out_dir", &out_dir, "parent directory of runs");
}

void TrainConfig::validate() const {
  auto chk = [](bool ok, const std::string& m) { require(ok, "config: " + m); };
  chk(layers >= 1 && layers <= 64, fmt::format("model.layers = {} must be in [1, 64]", layers));
  chk(heads >= 1, fmt::format("model.heads = {} must be >= 1", heads));
  chk(d_model >= 1 && d_model <= 8192, fmt::format("model.d_model = {} must be in [1, 8192]", d_model));
  chk(d_model % heads == 0, fmt::format("model.d_model = {} is not divisible by model.heads = {}", d_model, heads));
  chk(d_ff >= 0, "model.d_ff must be >= 0");
  attn_variant(attention);
  check_qk_norm(qk_norm);
  check_attn_gate(attn_gate);
  chk(clip_alpha >= 0, fmt::format("model.clip_alpha = {} must be >= 0", clip_alpha));
  chk(clip_zeta >= 1, fmt::format("model.clip_zeta = {} must be >= 1", clip_zeta));
  parse_init_scheme(init);
  chk(norm == "layernorm" || norm == "rmsnorm", "model.norm must be layernorm or rmsnorm, got '" + norm + "'");
  for (const auto* v : {&no_attn_layers, &no_mlp_layers, &linear_mlp_layers})
    for (int l : *v) chk(l >= 0 && l < layers, fmt::format("layer index {} is outside [0, {})", l, layers));
  if (is_lm()) {
    parse_bos_mode(bos);
    chk(!corpus.empty(), "data.corpus is empty: data.task = lm needs at least one \"NAME=PATH\"");
    chk(val_frac > 0 && val_frac < 1, fmt::format("data.val_frac = {} must be in (0, 1)", val_frac));
    chk(val_seqs >= 1 && val_seqs <= 4096, fmt::format("data.val_seqs = {} must be in [1, 4096]", val_seqs));
  } else {
    parse_task_kind(task);
  }
  chk(pos == "learned" || pos == "rope" || pos == "none", "model.pos must be learned, rope or none, got '" + pos + "'");
  chk(mlp == "relu" || mlp == "gelu" || mlp == "swiglu", "model.mlp must be relu, gelu or swiglu, got '" + mlp + "'");
  chk(kv_heads >= 0 && (kv_heads == 0 || heads % kv_heads == 0),
      fmt::format("model.kv_heads = {} must divide model.heads = {}", kv_heads, heads));
  chk(rope_theta > 0, "model.rope_theta must be positive");
  chk(pos != "rope" || (d_model / heads) % 2 == 0,
      fmt::format("model.pos = rope needs an even head dimension (d_model / heads = {})", d_model / heads));
  chk(seq_len >= 2 && seq_len <= 8192, fmt::format("data.seq_len = {} must be in [2, 8192]", seq_len));
  chk(optimizer == "adamw" || optimizer == "sgd" || optimizer == "muon",
      "train.optimizer must be adamw, sgd or muon, got '" + optimizer + "'");
  chk(muon_lr > 0 && muon_lr < 10, fmt::format("train.muon_lr = {} must be in (0, 10)", muon_lr));
  chk(muon_momentum >= 0 && muon_momentum < 1, fmt::format("train.muon_momentum = {} must be in [0, 1)", muon_momentum));
  chk(lr > 0 && lr < 10, fmt::format("train.lr = {} must be in (0, 10)", lr));
  chk(schedule == "constant" || schedule == "cosine" || schedule == "wsd",
      "train.schedule must be constant, cosine or wsd, got '" + schedule + "'");
  chk(warmup_steps >= 0 && warmup_steps < steps,
      fmt::format("train.warmup_steps = {} must be in [0, train.steps = {})", warmup_steps, steps));
  chk(decay_frac > 0 && decay_frac <= 1, fmt::format("train.decay_frac = {} must be in (0, 1]", decay_frac));
  chk(min_lr_ratio >= 0 && min_lr_ratio <= 1, fmt::format("train.min_lr_ratio = {} must be in [0, 1]", min_lr_ratio));
  chk(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "train.beta1 and train.beta2 must be in [0, 1)");
  chk(eps > 0, "train.eps must be positive");
  chk(weight_decay >= 0, "train.weight_decay must be >= 0");
  chk(momentum >= 0 && momentum < 1, "train.momentum must be in [0, 1)");
  chk(batch_size >= 1 && batch_size <= 65536, fmt::format("train.batch_size = {} must be in [1, 65536]", batch_size));
  chk(steps >= 1, fmt::format("train.steps = {} must be >= 1", steps));
  chk(seed >= 0, "train.seed must be >= 0");
  chk(log_every >= 1, "train.log_every must be >= 1");
  chk(device == "cpu" || device == "cuda", "train.device must be cpu or cuda, got '" + device + "'");
  chk(threads >= 0, "train.threads must be >= 0");
  chk(dense_every >= 1 && dense_until >= 0, "checkpoints.dense_every must be >= 1 and dense_until >= 0");
  chk(sparse == "log" || sparse == "every", "checkpoints.sparse must be log or every, got '" + sparse + "'");
  chk(sparse_every >= 1, "checkpoints.sparse_every must be >= 1");
  chk(per_decade >= 1 && per_decade <= 1000, "checkpoints.per_decade must be in [1, 1000]");
  chk(!name.empty() && name.find('/') == std::string::npos && name != "." && name != "..",
      "run.name = '" + name + "' must be one path component (not empty, '.' or '..', no '/')");
}

double TrainConfig::lr_at(int64_t done) const {
  if (done <= warmup_steps) return lr * (double)done / (double)warmup_steps;
  if (schedule == "constant") return lr;
  const double lo = lr * min_lr_ratio;
  if (schedule == "cosine") {
    const double x = (double)(done - warmup_steps) / (double)(steps - warmup_steps);
    return lo + (lr - lo) * 0.5 * (1 + std::cos(M_PI * std::min(1.0, x)));
  }
  const double start = (double)steps * (1 - decay_frac);  // wsd
  if ((double)done <= start) return lr;
  const double x = ((double)done - start) / ((double)steps - start);
  return lr + (lo - lr) * std::min(1.0, x);
}

ModelSpec TrainConfig::model_spec(int vocab) const {
  ModelSpec m;
  m.arch = is_lm() ? "lm" : "bb-toy";
  m.vocab = vocab;
  m.d_model = d_model;
  m.n_layers = layers;
  m.n_heads = heads;
  m.d_ff = d_ff;
  m.n_ctx = seq_len;
  m.norm = parse_norm_kind(norm);
  m.post_norm = post_norm;
  m.attn = attention;
  m.qk_norm = qk_norm;
  m.attn_gate = attn_gate;
  m.clip_alpha = clip_alpha;
  m.clip_zeta = clip_zeta;
  m.mlp = parse_mlp_kind(mlp);
  m.pos = pos == "rope" ? PosKind::Rotary : pos == "none" ? PosKind::None : PosKind::Learned;
  m.rope_theta = rope_theta;
  m.rope_interleaved = false;  // rotate halves, as Hugging Face llama
  m.n_kv_heads = kv_heads;
  m.tied_embeddings = tied_embeddings;
  m.layers.assign(layers, LayerSpec{});
  for (int l : no_attn_layers) m.layers[l].attn = false;
  for (int l : no_mlp_layers) m.layers[l].mlp = false;
  for (int l : linear_mlp_layers) m.layers[l].linear_mlp = true;
  m.finalize();
  return m;
}

TaskConfig TrainConfig::task_config() const {
  TaskConfig t;
  t.kind = parse_task_kind(task);
  t.seq_len = seq_len;
  t.n_triggers = triggers_top;
  t.triggers = triggers;
  t.n_bos = n_bos;
  t.mix_p = mix_p;
  return t;
}

std::vector<std::string> preset_names() {
  return {"paper-1l", "paper-3l", "paper-1l-relu", "paper-3l-sgd", "paper-3l-relu", "cpu-1l", "cpu-3l",
          "cpu-1l-relu", "cpu-3l-sgd", "cpu-3l-relu", "tiny", "cpu-lm", "gpu-lm", "tiny-lm"};
}

std::vector<std::string> lm_preset_names() { return {"cpu-lm", "gpu-lm", "tiny-lm"}; }

namespace {
// Llama-style language models on real text (`sinklab pretrain`): RMSNorm, rotary
// positions, SwiGLU, byte-level tokens, BOS at the start of every sequence. The corpus:
// Python's documentation sources (English prose) and standard library (code), both from
// Debian packages that scripts/setup.sh installs (python3.11-doc, libpython3.11-stdlib).
std::string lm_preset(const std::string& name) {
  const std::string corpus =
      "corpus = [\"prose=/usr/share/doc/python3.11/html/_sources\", \"code=/usr/lib/python3.11\"]\n";
  const std::string arch = "norm = \"rmsnorm\"\npos = \"rope\"\nmlp = \"swiglu\"\ninit = \"gpt2\"\n";
  if (name == "cpu-lm")
    return "[model]\n" + arch + "layers = 4\nheads = 4\nd_model = 128\nd_ff = 352\n[data]\ntask = \"lm\"\n" + corpus +
           "seq_len = 128\n[train]\nbatch_size = 32\nsteps = 2000\nlr = 1e-3\nschedule = \"cosine\"\n"
           "warmup_steps = 100\nmin_lr_ratio = 0.1\nweight_decay = 0.1\nbeta2 = 0.95\nlog_every = 10\n"
           "[checkpoints]\ndense_every = 25\ndense_until = 200\nsparse = \"log\"\nper_decade = 8\n"
           "[run]\nname = \"cpu-lm\"\n";
  if (name == "gpu-lm")  // Gu et al.'s scale (~60M parameters), for a CUDA build
    return "[model]\n" + arch + "layers = 10\nheads = 12\nd_model = 768\nd_ff = 2048\n[data]\ntask = \"lm\"\n" +
           corpus +
           "seq_len = 512\n[train]\nbatch_size = 64\nsteps = 5000\nlr = 4e-4\nschedule = \"cosine\"\n"
           "warmup_steps = 200\nmin_lr_ratio = 0.1\nweight_decay = 0.1\nbeta2 = 0.95\nlog_every = 10\n"
           "device = \"cuda\"\n[checkpoints]\ndense_every = 50\ndense_until = 500\nsparse = \"log\"\n"
           "per_decade = 8\n[run]\nname = \"gpu-lm\"\n";
  // tiny-lm: the tests' scale, on the corpora shipped in data/domains (run from the
  // repository root).
  return "[model]\n" + arch + "layers = 2\nheads = 2\nd_model = 32\nd_ff = 64\n[data]\ntask = \"lm\"\n"
         "corpus = [\"prose=data/domains/prose_wikipedia.jsonl\", \"code=data/domains/code_python.jsonl\"]\n"
         "seq_len = 32\n[train]\nbatch_size = 8\nsteps = 40\nlr = 3e-3\nlog_every = 10\n"
         "[checkpoints]\ndense_every = 10\ndense_until = 20\nsparse = \"every\"\nsparse_every = 20\n"
         "[run]\nname = \"tiny-lm\"\n";
}
}  // namespace

std::string preset_toml(const std::string& name) {
  for (const auto& n : lm_preset_names())
    if (n == name) return lm_preset(name);
  // The paper's settings (PAPER.md): d = 256, 1 head, T = 256, batch 512, 10k steps,
  // AdamW lr 3e-4, SGD lr 0.03, ReLU attention lr 3e-3.
  const std::string paper = "[model]\nd_model = 256\nheads = 1\n[data]\nsource = \"shakespeare\"\nseq_len = 256\n"
                            "[train]\nbatch_size = 512\nsteps = 10000\nlr = 3e-4\nlog_every = 10\n"
                            "[checkpoints]\ndense_every = 5\ndense_until = 200\nsparse = \"log\"\nper_decade = 16\n";
  // CPU scale, runs in minutes on 2 cores: d = 64, T = 64, batch 64 with the paper's
  // learning rates and initialisation (torch-default). With GPT-2 init, lr 3e-4 formed
  // no sink in 2000 steps and lr 3e-3 formed it in layer 0 with no residual peak
  // (docs/results-reproduce.md).
  const std::string cpu = "[model]\nd_model = 64\nheads = 1\n[data]\nsource = \"shakespeare\"\nseq_len = 64\n"
                          "[train]\nbatch_size = 64\nsteps = 3000\nlr = 3e-4\nlog_every = 10\n"
                          "[checkpoints]\ndense_every = 5\ndense_until = 100\nsparse = \"log\"\nper_decade = 16\n";
  std::string base, run = name;
  if (name.rfind("paper-", 0) == 0) base = paper;
  else if (name.rfind("cpu-", 0) == 0) base = cpu;
  else if (name == "tiny") {
    return "[model]\nd_model = 32\nheads = 1\nlayers = 1\n[data]\nseq_len = 32\n[train]\nbatch_size = 32\n"
           "steps = 200\nlr = 3e-3\nlog_every = 10\n[checkpoints]\ndense_every = 50\ndense_until = 100\n"
           "sparse = \"every\"\nsparse_every = 100\n[run]\nname = \"tiny\"\n";
  } else {
    std::string all;
    for (auto& n : preset_names()) all += (all.empty() ? "" : ", ") + n;
    fail("unknown preset '" + name + "' (valid: " + all + ")");
  }
  const bool three = name.find("-3l") != std::string::npos;
  const bool relu = name.find("-relu") != std::string::npos;
  const bool sgd = name.find("-sgd") != std::string::npos;
  std::string t = base;
  // Dotted keys after the tables above are not allowed in TOML, so the variable
  // parts go into their own tables via full dotted keys at top level: build anew.
  t = "[model]\n" + std::string("layers = ") + (three ? "3" : "1") + "\n" +
      "attention = \"" + (relu ? "relu" : "softmax") + "\"\n" + t.substr(t.find('\n') + 1);
  if (sgd) {
    auto pos = t.find("[train]\n") + 8;
    t.insert(pos, std::string("optimizer = \"sgd\"\n"));
    auto lrp = t.find("lr = ");
    t.replace(lrp, t.find('\n', lrp) - lrp, "lr = 0.03");
  } else if (relu) {
    auto lrp = t.find("lr = ");
    t.replace(lrp, t.find('\n', lrp) - lrp, "lr = 3e-3");
  }
  return t + "[run]\nname = \"" + run + "\"\n";
}

TrainConfig load_train_config(const std::string& preset, const std::string& file, const std::vector<std::string>& sets) {
  TrainConfig c;
  ConfigSchema s;
  c.describe(s);
  if (!preset.empty()) s.load_toml_text(preset_toml(preset), "preset " + preset);
  if (!file.empty()) s.load_toml_file(file);
  for (auto& a : sets) s.set(a);
  c.validate();
  return c;
}

}  // namespace sinklab
