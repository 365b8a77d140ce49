// The toy trainer: fresh BB batches every step (generated on a background thread),
// AdamW or SGD, metrics per logged step, a dense-then-sparse checkpoint schedule,
// exact resume, Ctrl-C checkpointing, a stop on non-finite loss.
//
// Run directory:
//   RUN/config.toml                            the exact resolved config
//   RUN/metrics.jsonl                          one JSON object per logged step
//   RUN/checkpoints/step-<N>.safetensors       model weights (+ metadata: step, arch)
//   RUN/checkpoints/step-<N>.optim.pt          optimizer state (torch::save archive)
// lm runs (data.task = lm, `sinklab pretrain`) also:
//   RUN/val.jsonl                              held-out loss per domain at each checkpoint
//   RUN/heldout/<domain>.jsonl                 the held-out documents
//   RUN/hf/step<N>/                            the checkpoint as a Hugging Face llama
//                                              directory (when the model is one)
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "train/config.h"

namespace torch::optim {
class Optimizer;
}

namespace sinklab {

class Transformer;

class LmCorpus;

// What a run trains on: BB batches (data.task bb, markov, ...) or windows of real text
// (lm, src/data/lm_corpus.h); either way batch i is a function of (seed, i).
class TrainData {
 public:
  explicit TrainData(const TrainConfig& c);  // InputError for an unusable source or corpus
  ~TrainData();
  int vocab() const;
  void generate(uint64_t seed, uint64_t step, int B, Batch& out) const;
  const LmCorpus* lm() const { return lm_.get(); }  // null for BB tasks

 private:
  std::unique_ptr<BBTask> bb_;
  std::unique_ptr<LmCorpus> lm_;
};

struct TrainOptions {
  bool progress = true;
  int64_t stop_after = -1;  // >= 0: behave as if interrupted after this step (tests)
  bool force = false;       // train_new: start afresh in a directory that holds a run or other files
};

struct TrainOutcome {
  std::string run_dir;
  int64_t step = 0;       // last completed step
  bool interrupted = false;
};

// Thrown when the loss stops being finite (the CLI exits with code 3).
struct DivergedError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Sets LibTorch's intra-op threads and, when the BLAS is OpenBLAS (Debian's LibTorch
// links the system libblas), OpenBLAS's own thread pool too, which at::set_num_threads
// does not reach: otherwise matrix multiplies use every core and their spinning
// workers compete with LibTorch's threads. n <= 0 leaves both at their defaults.
void set_compute_threads(int n);

// The model vocabulary of a config's data (BB: the source's tokens and BOS; lm: 258).
int data_vocab(const TrainConfig& c);

// Steps at which the schedule writes a checkpoint (0 and the last step included).
std::vector<int64_t> checkpoint_steps(const TrainConfig& c);

// Rough bytes a run of this config needs on its device (parameters, gradients,
// optimizer state, one step's activations), and the check of it against the memory
// available (CPU runs; InputError naming the sizes when it does not fit).
double train_memory_bytes(const TrainConfig& c, int vocab);
void check_train_memory(const TrainConfig& c, int vocab);

TrainOutcome train_new(const TrainConfig& cfg, const TrainOptions& opts);
// Continues RUN_DIR from its last complete checkpoint. `sets` may override
// train.steps (to extend a run; not before the last checkpoint), train.log_every,
// train.threads, train.device and checkpoints.*; any other changed key is refused
// (InputError) before anything is written, and an accepted change is written to
// RUN/config.toml atomically.
TrainOutcome train_resume(const std::string& run_dir, const std::vector<std::string>& sets, const TrainOptions& opts);

// Checkpoint steps present in RUN_DIR (weights and optimizer state both there), sorted.
std::vector<int64_t> list_checkpoints(const std::string& run_dir);
std::string checkpoint_path(const std::string& run_dir, int64_t step);
// Reads RUN_DIR/config.toml.
TrainConfig load_run_config(const std::string& run_dir, const std::vector<std::string>& sets = {});

// The optimizer of train.optimizer over the model's parameters (AdamW, SGD with momentum,
// or Muon: src/train/muon.h), as the trainer makes it (benchmarks use the same).
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& c, const Transformer& model);

}  // namespace sinklab
