// The Bigram-Backcopy (BB) task family and its Bayes oracle.
//
// Token ids: 0..V-1 are the source tokens, V..V+n_bos-1 the BOS tokens.
// A sequence has T+1 tokens x_0..x_T: x_0..x_{n_bos-1} = BOS_0..BOS_{n_bos-1};
// x_{n_bos} ~ unigram marginal with the triggers removed; for later t:
//   markov  x_t ~ P(. | x_{t-1})
//   bb      x_t = x_{t-2} if x_{t-1} is a trigger, else ~ P(. | x_{t-1})   (the paper's rule)
//   bb-mix  like bb, but the backcopy happens with probability p, else ~ P(. | x_{t-1})
//   bietti  x_t = m(x_{t-1}) if x_{t-1} is a trigger, where m(trigger) ~ marginal is
//           drawn once per sequence (Bietti et al.'s in-context association), else
//           ~ P(. | x_{t-1})
// Position t (0..T-1) predicts x_{t+1}. Its role is "trigger" (active) when x_t is a
// trigger, else "non-trigger" (dormant; BOS positions are non-trigger).
// The oracle q_t is the Bayes-optimal distribution of x_{t+1} given x_0..x_t.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/alias.h"
#include "data/bigram.h"

namespace sinklab {

enum class TaskKind { Markov, BB, BBMix, Bietti };
TaskKind parse_task_kind(const std::string& name);  // InputError for unknown names
std::string task_kind_name(TaskKind k);

struct TaskConfig {
  TaskKind kind = TaskKind::BB;
  int seq_len = 256;                  // T: a batch row has T+1 tokens
  int n_bos = 1;                      // number of BOS tokens at the start
  int n_triggers = 3;                 // k most frequent tokens, unless `triggers` is set
  std::vector<std::string> triggers;  // explicit trigger tokens (display strings)
  double mix_p = 0.5;                 // bb-mix backcopy probability
};

// One generated batch. tokens: [B, T+1] row-major. roles/oracle_*: [B, T].
struct Batch {
  int B = 0, T = 0;
  std::vector<int64_t> tokens;
  std::vector<uint8_t> is_trigger;   // role of query position t: 1 = trigger (active)
  std::vector<float> oracle_nll;     // -log q_t(x_{t+1})
  std::vector<float> oracle_entropy; // H(q_t)
  std::vector<uint8_t> is_copy;      // x_{t+1} was produced by the copy/association rule
};

struct OracleStats {
  double loss_all = 0, loss_trigger = 0, loss_nontrigger = 0;  // mean H(q_t), nats/token
  double se_all = 0, se_trigger = 0, se_nontrigger = 0;        // standard errors over sequences
  double trigger_fraction = 0;
  int64_t positions = 0;
};

class BBTask {
 public:
  BBTask(BigramSource source, TaskConfig config);

  const BigramSource& source() const { return source_; }
  const TaskConfig& config() const { return cfg_; }
  int vocab_size() const { return V_ + cfg_.n_bos; }  // model vocabulary
  int n_source() const { return V_; }
  int bos_id(int i = 0) const { return V_ + i; }
  const std::vector<int>& triggers() const { return triggers_; }
  bool is_trigger(int64_t tok) const { return tok >= 0 && tok < V_ && trig_flag_[tok]; }
  std::string token_string(int64_t id) const;  // printable ("<bos>" for BOS)

  // Fills `out` with batch `batch_index` of size B for `seed`. Deterministic in
  // (seed, batch_index, row), whatever `threads` is (0 = all available).
  // with_oracle=false skips roles/oracle fields (fastest path).
  void generate(uint64_t seed, uint64_t batch_index, int B, Batch& out, int threads = 0,
                bool with_oracle = true) const;
  // Generates one row into tokens[T+1] (and optional per-position outputs of length T).
  void generate_row(uint64_t seed, uint64_t batch_index, int row, int64_t* tokens, uint8_t* is_trigger,
                    float* nll, float* entropy, uint8_t* is_copy) const;

  // Full oracle distribution q_t over the model vocabulary for one row (T x vocab_size).
  std::vector<float> oracle_distribution(const int64_t* tokens) const;

  // Oracle loss estimated over n_seqs sequences (mean of H(q_t)).
  OracleStats oracle_stats(uint64_t seed, int n_seqs, int threads = 0) const;

 private:
  BigramSource source_;
  TaskConfig cfg_;
  int V_;
  std::vector<int> triggers_;
  std::vector<uint8_t> trig_flag_;
  std::vector<AliasTable> rows_;  // P(. | a)
  AliasTable first_;              // marginal without triggers
  AliasTable marginal_;           // marginal (bietti association targets)
  std::vector<double> row_entropy_, row_logp_;  // H(P(.|a)); log P(b|a) flattened
  std::vector<double> first_logp_, marg_logp_;
  double first_entropy_ = 0, marg_entropy_ = 0;
  std::vector<double> mix_entropy_;  // bb-mix: H(p*delta_prev + (1-p) P(.|trig)), [trig_index][prev]
  std::vector<int> trig_index_;      // token -> index in triggers_ (or -1)
};

}  // namespace sinklab
