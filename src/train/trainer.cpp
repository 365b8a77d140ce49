#include "train/trainer.h"

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <dlfcn.h>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "data/lm_corpus.h"
#include "data/torch/batch_tensor.h"
#include "io/error.h"
#include "io/files.h"
#include "io/memory.h"
#include "io/out_dir.h"
#include "io/progress.h"
#include "model/checkpoint.h"
#include "model/hf_export.h"
#include "model/transformer.h"
#include "train/muon.h"

namespace fs = std::filesystem;

namespace sinklab {

namespace {

std::atomic<bool> g_interrupt{false};
void on_sigint(int) { g_interrupt = true; }

// Generates batch i (= step i) ahead of the consumer on one background thread.
class Prefetcher {
 public:
  Prefetcher(const TrainData& task, uint64_t seed, int B, int64_t first, int64_t last)
      : task_(task), seed_(seed), B_(B), next_(first), last_(last) {
    thread_ = std::thread([this] { loop(); });
  }
  ~Prefetcher() {
    {
      std::lock_guard<std::mutex> l(m_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Batch take() {
    std::unique_lock<std::mutex> l(m_);
    cv_.wait(l, [&] { return !q_.empty() || error_; });
    if (error_) std::rethrow_exception(error_);
    Batch b = std::move(q_.front());
    q_.pop_front();
    cv_.notify_all();
    return b;
  }

 private:
  void loop() {
    try {
      for (int64_t i = next_; i < last_; ++i) {
        Batch b;
        task_.generate(seed_, (uint64_t)i, B_, b);
        std::unique_lock<std::mutex> l(m_);
        cv_.wait(l, [&] { return q_.size() < 2 || stop_; });
        if (stop_) return;
        q_.push_back(std::move(b));
        cv_.notify_all();
      }
    } catch (...) {
      std::lock_guard<std::mutex> l(m_);
      error_ = std::current_exception();
      cv_.notify_all();
    }
  }
  const TrainData& task_;
  uint64_t seed_;
  int B_;
  int64_t next_, last_;
  std::thread thread_;
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<Batch> q_;
  bool stop_ = false;
  std::exception_ptr error_;
};

struct CorruptCheckpoint : InputError {
  using InputError::InputError;
};

// Temp files of a write that a kill interrupted (write_file_atomic's ".tmp-PID-N", the
// ".tmp" of older versions): removed at the next start or resume, under the run's lock.
void remove_temp_files(const std::string& run_dir) {
  std::error_code ec;
  for (const auto& dir : {fs::path(run_dir), fs::path(run_dir) / "checkpoints"}) {
    if (!fs::is_directory(dir, ec)) continue;
    for (auto& e : fs::directory_iterator(dir, ec)) {
      const std::string n = e.path().filename().string();
      if (n.find(".tmp-") != std::string::npos || (n.size() > 4 && n.compare(n.size() - 4, 4, ".tmp") == 0))
        fs::remove(e.path(), ec);
    }
  }
}

// Sets every parameter group's lr (the schedule's value for this update; a resumed
// optimizer state carries the lr it was saved with).
void set_lr(torch::optim::Optimizer& opt, double lr) {
  if (auto* m = dynamic_cast<Muon*>(&opt)) return m->set_lr(lr);
  for (auto& g : opt.param_groups()) {
    if (auto* a = dynamic_cast<torch::optim::AdamWOptions*>(&g.options())) a->lr(lr);
    else if (auto* s = dynamic_cast<torch::optim::SGDOptions*>(&g.options())) s->lr(lr);
  }
}

std::string optim_path(const std::string& run_dir, int64_t step) {
  return fmt::format("{}/checkpoints/step-{}.optim.pt", run_dir, step);
}

void save_checkpoint(const std::string& run_dir, int64_t step, const Transformer& model,
                     torch::optim::Optimizer& opt, const TrainConfig& c) {
  // Optimizer first (temp + rename), then weights: a checkpoint counts as complete
  // only when both exist, and the weights file appears last.
  const std::string op = optim_path(run_dir, step);
  write_file_atomic(op, [&](std::ostream& o) {
    try {
      torch::save(opt, o);
    } catch (const c10::Error& e) {
      std::string m = e.what();
      fail("cannot write '" + op + "': " + m.substr(0, m.find('\n')));
    }
    if (!o) fail("cannot write '" + op + "': write failed (disk full?)");
  });
  save_weights(model, checkpoint_path(run_dir, step),
               {{"step", std::to_string(step)}, {"arch", model.spec().arch}, {"optimizer", c.optimizer},
                {"format", "sinklab-toy-v1"}});
}

std::string metrics_line(int64_t step, const at::Tensor& nll, const TensorBatch& tb, double tok_s, double elapsed,
                         double lr) {
  if (!tb.is_trigger.defined())  // lm: no roles, no oracle
    return nlohmann::json{{"step", step},           {"loss", nll.mean().item<double>()},
                          {"tokens_per_s", tok_s}, {"elapsed_s", elapsed},
                          {"lr", lr}}
        .dump();
  auto trig = tb.is_trigger;
  auto non = trig.logical_not();
  auto mean_where = [](const at::Tensor& v, const at::Tensor& m) {
    auto n = m.sum().item<int64_t>();
    return n ? v.masked_select(m).mean().item<double>() : std::nan("");
  };
  double l_all = nll.mean().item<double>();
  double l_t = mean_where(nll, trig), l_n = mean_where(nll, non);
  double o_all = tb.oracle_nll.mean().item<double>();
  double o_t = mean_where(tb.oracle_nll, trig), o_n = mean_where(tb.oracle_nll, non);
  nlohmann::json j = {{"step", step},           {"loss", l_all},
                      {"loss_trigger", l_t},    {"loss_nontrigger", l_n},
                      {"excess", l_all - o_all}, {"excess_trigger", l_t - o_t},
                      {"excess_nontrigger", l_n - o_n}, {"oracle", o_all},
                      {"tokens_per_s", tok_s},  {"elapsed_s", elapsed},
                      {"lr", lr}};
  return j.dump();
}

// lm runs at each checkpoint: the mean next-token loss on every domain's held-out
// windows (one JSON line for RUN/val.jsonl), and the weights as a Hugging Face llama
// directory RUN/hf/step<N>/ when the model is one.
std::string val_line(const Transformer& model, const LmCorpus& data, int n_seqs, int64_t step, torch::Device dev) {
  torch::NoGradGuard ng;
  nlohmann::ordered_json j;
  j["step"] = step;
  double sum = 0;
  int n = 0;
  for (size_t d = 0; d < data.domains().size(); ++d) {
    int rows = 0;
    auto w = data.val_windows(d, n_seqs, &rows);
    if (rows == 0) continue;
    auto t = torch::from_blob(w.data(), {rows, (int64_t)(w.size() / rows)}, torch::kInt64).to(dev);
    const double l = model.token_nll(t).mean().item<double>();
    j["val_loss_" + data.domains()[d].name] = l;
    sum += l, ++n;
  }
  if (n) j["val_loss"] = sum / n;
  return j.dump();
}

std::string hf_dir(const std::string& run_dir, int64_t step) { return fmt::format("{}/hf/step{}", run_dir, step); }

void export_checkpoint(const std::string& run_dir, int64_t step, const Transformer& model, const LmCorpus& data) {
  if (!hf_llama_incompatibility(model.spec()).empty()) return;
  const bool bos = data.bos() != BosMode::None;
  export_hf_llama(model, hf_dir(run_dir, step),
                  {{"tokenizer.json", byte_tokenizer_json(data.bos() == BosMode::Sequence)},
                   {"tokenizer_config.json", byte_tokenizer_config_json(bos, model.spec().n_ctx)}},
                  bos ? LmCorpus::kBos : -1, LmCorpus::kEos);
}

// Keeps the lines of metrics.jsonl with step <= last (for resume), atomically.
void truncate_metrics(const std::string& path, int64_t last) {
  if (!fs::exists(path)) return;
  std::istringstream in(read_file(path));
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      auto j = nlohmann::json::parse(line);
      if (j.value("step", (int64_t)-1) <= last) out += line + "\n";
    } catch (...) {
      break;  // a torn last line from a hard kill
    }
  }
  write_file_atomic(path, out);
}

// RUN/heldout/<domain>.jsonl: each domain's held-out documents, the corpora the
// emergence scan (`sinklab pretrain`, `llm scan-series`) measures on.
void write_heldout(const std::string& run_dir, const LmCorpus& data) {
  ensure_writable_dir(run_dir + "/heldout");
  for (const auto& d : data.domains()) {
    std::string out;
    for (const auto& t : d.val_texts) out += nlohmann::json{{"text", t}}.dump() + "\n";
    write_file_atomic(run_dir + "/heldout/" + d.name + ".jsonl", out);
  }
}

TrainOutcome run_loop(const TrainConfig& c, const std::string& run_dir, int64_t start_step, bool resume,
                      const TrainOptions& opts) {
  set_compute_threads(c.threads);
  if (c.device == "cuda")
    require(torch::cuda::is_available(), "train.device = cuda, but this LibTorch has no CUDA or no GPU is visible");
  TrainData task(c);
  Transformer model(c.model_spec(task.vocab()));
  model.init_weights((uint64_t)c.seed, parse_init_scheme(c.init));
  if (resume) {
    try {
      load_weights(model, checkpoint_path(run_dir, start_step));
    } catch (const InputError& e) {
      throw CorruptCheckpoint(e.what());
    }
  }
  model.to(c.device);
  for (auto& p : model.parameters()) p.set_requires_grad(true);
  auto opt = make_optimizer(c, model);
  if (resume) {
    try {
      torch::load(*opt, optim_path(run_dir, start_step));
    } catch (const c10::Error& e) {
      throw CorruptCheckpoint(fmt::format("'{}': corrupt optimizer state", optim_path(run_dir, start_step)));
    }
  }
  auto ck = checkpoint_steps(c);
  std::set<int64_t> ckset(ck.begin(), ck.end());
  const std::string metrics_path = run_dir + "/metrics.jsonl";
  const std::string val_path = run_dir + "/val.jsonl";
  const LmCorpus* lm = task.lm();
  if (resume) {
    truncate_metrics(metrics_path, start_step);
    if (lm) truncate_metrics(val_path, start_step);
  } else {
    write_file_atomic(metrics_path, std::string());
    if (lm) {
      write_file_atomic(val_path, std::string());
      write_heldout(run_dir, *lm);
      const std::string why = hf_llama_incompatibility(model.spec());
      if (!why.empty())
        fmt::print(stderr, "sinklab: note: checkpoints are not written as Hugging Face directories: {}\n", why);
    }
  }
  std::ofstream metrics(metrics_path, std::ios::app);
  std::ofstream val;
  if (lm) val.open(val_path, std::ios::app);
  // A checkpoint: weights and optimizer state; for lm runs also the held-out loss and
  // the Hugging Face directory.
  auto checkpoint = [&](int64_t step) {
    save_checkpoint(run_dir, step, model, *opt, c);
    if (!lm) return;
    val << val_line(model, *lm, c.val_seqs, step, torch::Device(c.device)) << "\n";
    val.flush();
    export_checkpoint(run_dir, step, model, *lm);
  };
  if (!resume) checkpoint(0);

  g_interrupt = false;
  auto old = std::signal(SIGINT, on_sigint);
  TrainOutcome out{run_dir, start_step, false};
  Progress bar(c.steps, c.name, opts.progress);
  Prefetcher pf(task, (uint64_t)c.seed, c.batch_size, start_step, c.steps);
  auto t0 = std::chrono::steady_clock::now();
  auto t_log = t0;
  int64_t tokens_since = 0;
  int64_t last_good = resume ? start_step : 0;
  const int64_t T = c.seq_len;
  torch::Device dev(c.device);
  try {
    for (int64_t step = start_step; step < c.steps; ++step) {
      Batch b = pf.take();
      TensorBatch tb = to_tensors(b);
      auto tokens = tb.tokens.to(dev);
      auto nll = model.token_nll(tokens);
      auto loss = nll.mean();
      const bool log_now = (step + 1) % c.log_every == 0 || step + 1 == c.steps || step == 0;
      opt->zero_grad();
      loss.backward();
      double lv = loss.item<double>();
      if (!std::isfinite(lv))
        throw DivergedError(fmt::format("training diverged: loss is {} at step {}; the last good checkpoint is {}",
                                        lv, step + 1, checkpoint_path(run_dir, last_good)));
      set_lr(*opt, c.lr_at(step + 1));
      opt->step();
      tokens_since += (int64_t)c.batch_size * T;
      const int64_t done = step + 1;
      auto now = std::chrono::steady_clock::now();
      if (log_now) {
        double dt = std::chrono::duration<double>(now - t_log).count();
        double tok_s = dt > 0 ? tokens_since / dt : 0;
        metrics << metrics_line(done, nll.detach().cpu(), tb, tok_s, std::chrono::duration<double>(now - t0).count(),
                                c.lr_at(done))
                << "\n";
        metrics.flush();
        t_log = now;
        tokens_since = 0;
        bar.update(done, fmt::format("loss {:.4f} {:.0f} tok/s", lv, tok_s));
      }
      out.step = done;
      const bool stop = g_interrupt || (opts.stop_after >= 0 && done >= opts.stop_after && done < c.steps);
      if (ckset.count(done) || stop) {
        checkpoint(done);
        last_good = done;
      }
      if (stop) {
        out.interrupted = true;
        break;
      }
    }
  } catch (...) {
    std::signal(SIGINT, old);
    throw;
  }
  std::signal(SIGINT, old);
  bar.finish();
  return out;
}

}  // namespace

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& c, const Transformer& model) {
  const auto params = model.parameters();
  if (c.optimizer == "muon") {
    MuonSettings s;
    s.lr = c.muon_lr, s.momentum = c.muon_momentum, s.adam_lr = c.lr, s.beta1 = c.beta1, s.beta2 = c.beta2,
    s.eps = c.eps, s.weight_decay = c.weight_decay;
    return std::make_unique<Muon>(model.named_parameters(), s);
  }
  if (c.optimizer == "sgd")
    return std::make_unique<torch::optim::SGD>(
        params, torch::optim::SGDOptions(c.lr).momentum(c.momentum).weight_decay(c.weight_decay));
  return std::make_unique<torch::optim::AdamW>(
      params, torch::optim::AdamWOptions(c.lr).betas({c.beta1, c.beta2}).eps(c.eps).weight_decay(c.weight_decay));
}

TrainData::TrainData(const TrainConfig& c) {
  if (c.is_lm())
    lm_ = std::make_unique<LmCorpus>(c.corpus, parse_bos_mode(c.bos), c.val_frac, c.seq_len, c.batch_size);
  else
    bb_ = std::make_unique<BBTask>(BigramSource::from_spec(c.source), c.task_config());
}
TrainData::~TrainData() = default;
int TrainData::vocab() const { return lm_ ? lm_->vocab_size() : bb_->vocab_size(); }
void TrainData::generate(uint64_t seed, uint64_t step, int B, Batch& out) const {
  if (lm_) lm_->generate(seed, step, B, out);
  else bb_->generate(seed, step, B, out, 1, true);
}

int data_vocab(const TrainConfig& c) {
  if (c.is_lm()) return LmCorpus::kVocab;
  return BBTask(BigramSource::from_spec(c.source), c.task_config()).vocab_size();
}

void set_compute_threads(int n) {
  if (n <= 0) return;
  at::set_num_threads(n);
  // Looked up at run time: present only when the loaded BLAS is OpenBLAS.
  using SetThreads = void (*)(int);
  if (auto f = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) f(n);
}

std::string checkpoint_path(const std::string& run_dir, int64_t step) {
  return fmt::format("{}/checkpoints/step-{}.safetensors", run_dir, step);
}

std::vector<int64_t> checkpoint_steps(const TrainConfig& c) {
  std::set<int64_t> s{0, c.steps};
  for (int64_t k = c.dense_every; k <= std::min(c.dense_until, c.steps); k += c.dense_every) s.insert(k);
  if (c.sparse == "every") {
    for (int64_t k = c.sparse_every; k <= c.steps; k += c.sparse_every)
      if (k > c.dense_until) s.insert(k);
  } else {
    for (int i = 0;; ++i) {
      double v = std::pow(10.0, (double)i / c.per_decade);
      int64_t k = (int64_t)std::llround(v);
      if (k > c.steps) break;
      if (k > c.dense_until) s.insert(k);
    }
  }
  return {s.begin(), s.end()};
}

std::vector<int64_t> list_checkpoints(const std::string& run_dir) {
  std::vector<int64_t> steps;
  std::error_code ec;
  fs::path dir = fs::path(run_dir) / "checkpoints";
  if (!fs::is_directory(dir, ec)) return steps;
  for (auto& e : fs::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    long long s;
    char tail[32];
    if (std::sscanf(n.c_str(), "step-%lld.%31s", &s, tail) == 2 && std::string(tail) == "safetensors" &&
        fs::exists(optim_path(run_dir, s)))
      steps.push_back(s);
  }
  std::sort(steps.begin(), steps.end());
  return steps;
}

TrainConfig load_run_config(const std::string& run_dir, const std::vector<std::string>& sets) {
  std::string p = run_dir + "/config.toml";
  require(fs::exists(p), "'" + run_dir + "' is not a run directory (no config.toml)");
  return load_train_config("", p, sets);
}

TrainOutcome train_new(const TrainConfig& cfg, const TrainOptions& opts) {
  const std::string run_dir = cfg.out_dir == "." ? cfg.name : cfg.out_dir + "/" + cfg.name;
  check_train_memory(cfg, data_vocab(cfg));
  std::error_code ec;
  const bool existed = fs::exists(run_dir, ec);
  const bool has_run = fs::exists(run_dir + "/config.toml", ec);
  if (has_run && !opts.force)
    fail("run directory '" + run_dir + "' already holds a run; resume it with --resume " + run_dir +
         ", start it afresh with --force, or choose another --out");
  if (!has_run) refuse_nonempty_dir(run_dir, opts.force);  // the one overwrite rule (io/out_dir.h)
  DirLock lock(run_dir);                                      // one writer per run
  if (has_run) {
    // Afresh: the old run's files go (stale checkpoints would be resumed from later).
    for (const char* f : {"checkpoints", "metrics.jsonl", "config.toml", "analysis", "figures", "val.jsonl", "hf",
                          "heldout", "emergence"})
      fs::remove_all(run_dir + "/" + f, ec);
  }
  if (opts.force) clear_earlier_output(run_dir, lock);
  ensure_writable_dir(run_dir + "/checkpoints");
  TrainConfig c = cfg;
  ConfigSchema s;
  c.describe(s);
  write_file_atomic(run_dir + "/config.toml", "# sinklab resolved config\n" + s.to_toml());
  try {
    return run_loop(cfg, run_dir, 0, false, opts);
  } catch (...) {
    // A start that failed before its first complete checkpoint leaves nothing behind
    // that would block the next start ("already holds a run") or a resume.
    if (list_checkpoints(run_dir).empty()) {
      if (!existed) fs::remove_all(run_dir, ec);
      else
        for (const char* f : {"checkpoints", "metrics.jsonl", "config.toml", "val.jsonl", "hf", "heldout"})
          fs::remove_all(run_dir + "/" + f, ec);
    }
    throw;
  }
}

// Bytes a training run of this config needs, roughly: parameters, their gradients and
// the optimizer's state (4 copies with Adam, 3 with SGD or Muon), and the activations of one
// step (per layer ~20 d + 3 d_ff floats per token and 4 T floats per token and head for
// the attention scores, pattern and their gradients; logits and their gradient).
double train_memory_bytes(const TrainConfig& c, int vocab) {
  const double d = c.d_model, T = c.seq_len, B = c.batch_size, V = vocab, L = c.layers, H = c.heads;
  const double ff = c.d_ff > 0 ? c.d_ff : 4.0 * d;
  const double params = V * d * 2 + T * d + L * (4 * d * d + 2 * d * ff + 4 * d) + 2 * d;
  const double copies = c.optimizer == "adamw" ? 4 : 3;  // muon: momentum only for the matrices
  const double acts = B * T * (L * (20 * d + 3 * ff + 4 * H * T) + 3 * V);
  return 4.0 * (params * copies + acts);
}

void check_train_memory(const TrainConfig& c, int vocab) {
  if (c.device != "cpu") return;
  require_memory(train_memory_bytes(c, vocab),
                 fmt::format("this run (model.d_model = {}, model.layers = {}, d_ff = {}, train.batch_size = {} x "
                             "data.seq_len = {})",
                             c.d_model, c.layers, c.d_ff > 0 ? c.d_ff : 4 * c.d_model, c.batch_size, c.seq_len));
}

static bool resumable_key(const std::string& key) {
  return key == "train.steps" || key == "train.log_every" || key == "train.threads" || key == "train.device" ||
         key.rfind("checkpoints.", 0) == 0;
}
static std::string resumable_keys_help() {
  return "train.steps, train.log_every, train.threads, train.device and checkpoints.*";
}

TrainOutcome train_resume(const std::string& run_dir, const std::vector<std::string>& sets, const TrainOptions& opts) {
  TrainConfig c = load_run_config(run_dir, sets);
  DirLock lock(run_dir);  // one writer per run
  remove_temp_files(run_dir);
  auto ck = list_checkpoints(run_dir);
  require(!ck.empty(), "'" + run_dir + "' has no complete checkpoint to resume from");
  int64_t last = ck.back();
  if (!sets.empty()) {
    // Checked before anything is written: a resume may change only what does not
    // invalidate the checkpoints and the steps already taken.
    TrainConfig was = load_run_config(run_dir);
    ConfigSchema s, w;
    c.describe(s);
    was.describe(w);
    for (const auto& k : s.keys()) {
      if (s.value_text(k) == w.value_text(k) || resumable_key(k)) continue;
      fail(fmt::format("--resume cannot change {} ({} in the run, {} asked); a resume may change only {}", k,
                       w.value_text(k), s.value_text(k), resumable_keys_help()));
    }
    if (c.steps < last)
      fail(fmt::format("--resume: train.steps = {} is before the run's last checkpoint (step {})", c.steps, last));
    if (s.to_toml() != w.to_toml())
      write_file_atomic(run_dir + "/config.toml", "# sinklab resolved config\n" + s.to_toml());
  }
  if (last >= c.steps) return {run_dir, last, false};
  check_train_memory(c, data_vocab(c));
  // A corrupt latest checkpoint (bad checksum, truncated, unreadable optimizer state):
  // resume from the one before it, with a warning.
  for (size_t i = ck.size(); i-- > 0;) {
    try {
      return run_loop(c, run_dir, ck[i], true, opts);
    } catch (const CorruptCheckpoint& e) {
      if (i == 0) throw;
      fmt::print(stderr, "sinklab: warning: {}; resuming from step {} instead\n", e.what(), ck[i - 1]);
    }
  }
  fail("unreachable");
}

}  // namespace sinklab
