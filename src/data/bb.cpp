#include "data/bb.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <omp.h>

#include "data/rng.h"
#include "io/error.h"

namespace sinklab {

TaskKind parse_task_kind(const std::string& name) {
  if (name == "bb") return TaskKind::BB;
  if (name == "markov") return TaskKind::Markov;
  if (name == "bb-mix") return TaskKind::BBMix;
  if (name == "bietti") return TaskKind::Bietti;
  fail("unknown task '" + name + "' (valid: bb, markov, bb-mix, bietti)");
}

std::string task_kind_name(TaskKind k) {
  switch (k) {
    case TaskKind::BB: return "bb";
    case TaskKind::Markov: return "markov";
    case TaskKind::BBMix: return "bb-mix";
    case TaskKind::Bietti: return "bietti";
  }
  return "?";
}

static double entropy_of(const std::vector<double>& p) {
  double h = 0;
  for (double x : p)
    if (x > 0) h -= x * std::log(x);
  return h;
}

static double safe_log(double p) { return p > 0 ? std::log(p) : -1e30; }

BBTask::BBTask(BigramSource source, TaskConfig cfg) : source_(std::move(source)), cfg_(std::move(cfg)) {
  V_ = source_.vocab_size();
  require(cfg_.seq_len >= 2, fmt::format("sequence length T must be at least 2, got {}", cfg_.seq_len));
  require(cfg_.seq_len <= 1 << 20, fmt::format("sequence length T = {} is too large", cfg_.seq_len));
  require(cfg_.n_bos >= 1 && cfg_.n_bos <= 16, fmt::format("n_bos must be in [1, 16], got {}", cfg_.n_bos));
  require(cfg_.seq_len > cfg_.n_bos, fmt::format("sequence length T = {} must exceed n_bos = {}", cfg_.seq_len, cfg_.n_bos));
  require(cfg_.mix_p >= 0 && cfg_.mix_p <= 1, fmt::format("bb-mix probability p must be in [0, 1], got {}", cfg_.mix_p));
  trig_flag_.assign(V_, 0);
  if (!cfg_.triggers.empty()) {
    for (const auto& t : cfg_.triggers) {
      int id = source_.find(t);
      require(id >= 0, "trigger '" + display_token(t) + "' is not in the vocabulary of " + source_.name());
      require(!trig_flag_[id], "trigger '" + display_token(t) + "' is listed twice");
      trig_flag_[id] = 1;
      triggers_.push_back(id);
    }
  } else {
    require(cfg_.n_triggers >= 0, fmt::format("number of triggers k must be >= 0, got {}", cfg_.n_triggers));
    require(cfg_.n_triggers < V_, fmt::format("k = {} triggers is not smaller than the vocabulary size {} of {}",
                                              cfg_.n_triggers, V_, source_.name()));
    auto order = source_.by_frequency();
    for (int i = 0; i < cfg_.n_triggers; ++i) {
      triggers_.push_back(order[i]);
      trig_flag_[order[i]] = 1;
    }
  }
  require((int)triggers_.size() < V_, "every token is a trigger; at least one non-trigger token is needed");
  trig_index_.assign(V_, -1);
  for (size_t i = 0; i < triggers_.size(); ++i) trig_index_[triggers_[i]] = (int)i;

  const auto& marg = source_.marginal();
  std::vector<double> first(marg);
  for (int t : triggers_) first[t] = 0;
  double fs = 0;
  for (double x : first) fs += x;
  require(fs > 0, "the unigram marginal without triggers is empty: no token can start a sequence");
  for (double& x : first) x /= fs;
  first_ = AliasTable(first);
  marginal_ = AliasTable(marg);
  first_entropy_ = entropy_of(first);
  marg_entropy_ = entropy_of(marg);
  first_logp_.resize(V_);
  marg_logp_.resize(V_);
  for (int b = 0; b < V_; ++b) {
    first_logp_[b] = safe_log(first[b]);
    marg_logp_[b] = safe_log(marg[b]);
  }
  rows_.resize(V_);
  row_entropy_.resize(V_);
  row_logp_.resize((size_t)V_ * V_);
  for (int a = 0; a < V_; ++a) {
    std::vector<double> p(source_.transition_row(a), source_.transition_row(a) + V_);
    rows_[a] = AliasTable(p);
    row_entropy_[a] = entropy_of(p);
    for (int b = 0; b < V_; ++b) row_logp_[(size_t)a * V_ + b] = safe_log(p[b]);
  }
  if (cfg_.kind == TaskKind::BBMix) {
    mix_entropy_.assign(triggers_.size() * V_, 0.0);
    for (size_t i = 0; i < triggers_.size(); ++i) {
      const double* P = source_.transition_row(triggers_[i]);
      for (int prev = 0; prev < V_; ++prev) {
        std::vector<double> q(P, P + V_);
        for (double& x : q) x *= (1 - cfg_.mix_p);
        q[prev] += cfg_.mix_p;
        mix_entropy_[i * V_ + prev] = entropy_of(q);
      }
    }
  }
}

std::string BBTask::token_string(int64_t id) const {
  if (id >= V_ && id < V_ + cfg_.n_bos) return cfg_.n_bos == 1 ? "<bos>" : fmt::format("<bos{}>", id - V_);
  if (id < 0 || id >= V_) return "<?>";
  return display_token(source_.vocab()[id]);
}

void BBTask::generate_row(uint64_t seed, uint64_t batch_index, int row, int64_t* x, uint8_t* is_trig, float* nll,
                          float* ent, uint8_t* is_copy) const {
  Rng rng(seed, batch_index, (uint64_t)row);
  const int T = cfg_.seq_len, nb = cfg_.n_bos;
  const uint8_t* tf = trig_flag_.data();
  for (int i = 0; i < nb; ++i) x[i] = V_ + i;
  x[nb] = first_.sample(rng.next());
  if (is_copy) std::fill(is_copy, is_copy + T, 0);
  int assoc[64];
  const int nt = (int)triggers_.size();
  if (cfg_.kind == TaskKind::Bietti)
    for (int i = 0; i < std::min(nt, 64); ++i) assoc[i] = -1;
  switch (cfg_.kind) {
    case TaskKind::BB:
      for (int t = nb + 1; t <= T; ++t) {
        const int64_t prev = x[t - 1];
        if (tf[prev]) {
          x[t] = x[t - 2];
          if (is_copy) is_copy[t - 1] = 1;
        } else {
          x[t] = rows_[prev].sample(rng.next());
        }
      }
      break;
    case TaskKind::Markov:
      for (int t = nb + 1; t <= T; ++t) x[t] = rows_[x[t - 1]].sample(rng.next());
      break;
    case TaskKind::BBMix: {
      const uint64_t thresh = (uint64_t)std::ldexp(cfg_.mix_p, 53);
      for (int t = nb + 1; t <= T; ++t) {
        const int64_t prev = x[t - 1];
        if (tf[prev] && (rng.next() >> 11) < thresh) {
          x[t] = x[t - 2];
          if (is_copy) is_copy[t - 1] = 1;
        } else {
          x[t] = rows_[prev].sample(rng.next());
        }
      }
      break;
    }
    case TaskKind::Bietti: {
      std::vector<int> big;  // more than 64 triggers: rare, use the heap
      int* a = assoc;
      if (nt > 64) {
        big.assign(nt, -1);
        a = big.data();
      }
      for (int t = nb + 1; t <= T; ++t) {
        const int64_t prev = x[t - 1];
        if (tf[prev]) {
          int& m = a[trig_index_[prev]];
          if (m < 0) m = marginal_.sample(rng.next());
          x[t] = m;
          if (is_copy) is_copy[t - 1] = 1;
        } else {
          x[t] = rows_[prev].sample(rng.next());
        }
      }
      break;
    }
  }
  if (!is_trig && !nll && !ent) return;
  // Oracle pass: position t predicts x[t+1].
  std::vector<uint8_t> seen(cfg_.kind == TaskKind::Bietti ? nt : 0, 0);
  for (int t = 0; t < T; ++t) {
    const int64_t cur = x[t], nxt = x[t + 1];
    const bool trig = cur < V_ && tf[cur];
    double lp, h;
    if (t < nb - 1) {
      lp = 0, h = 0;
    } else if (t == nb - 1) {
      lp = first_logp_[nxt], h = first_entropy_;
    } else if (!trig || cfg_.kind == TaskKind::Markov) {
      lp = row_logp_[(size_t)cur * V_ + nxt], h = row_entropy_[cur];
    } else if (cfg_.kind == TaskKind::BB) {
      lp = 0, h = 0;
    } else if (cfg_.kind == TaskKind::BBMix) {
      const int64_t prev = x[t - 1];
      double q = (1 - cfg_.mix_p) * source_.transition(cur, nxt) + (nxt == prev ? cfg_.mix_p : 0.0);
      lp = safe_log(q), h = mix_entropy_[(size_t)trig_index_[cur] * V_ + prev];
    } else {  // Bietti
      uint8_t& s = seen[trig_index_[cur]];
      if (s) {
        lp = 0, h = 0;
      } else {
        lp = marg_logp_[nxt], h = marg_entropy_;
        s = 1;
      }
    }
    if (is_trig) is_trig[t] = trig ? 1 : 0;
    if (nll) nll[t] = (float)(-lp);
    if (ent) ent[t] = (float)h;
  }
}

void BBTask::generate(uint64_t seed, uint64_t batch_index, int B, Batch& out, int threads, bool with_oracle) const {
  require(B >= 1, fmt::format("batch size must be >= 1, got {}", B));
  const int T = cfg_.seq_len;
  out.B = B;
  out.T = T;
  out.tokens.resize((size_t)B * (T + 1));
  if (with_oracle) {
    out.is_trigger.resize((size_t)B * T);
    out.oracle_nll.resize((size_t)B * T);
    out.oracle_entropy.resize((size_t)B * T);
    out.is_copy.resize((size_t)B * T);
  } else {
    out.is_trigger.clear();
    out.oracle_nll.clear();
    out.oracle_entropy.clear();
    out.is_copy.clear();
  }
  const int nt = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int r = 0; r < B; ++r) {
    const size_t o = (size_t)r * T;
    if (with_oracle)
      generate_row(seed, batch_index, r, &out.tokens[(size_t)r * (T + 1)], &out.is_trigger[o], &out.oracle_nll[o],
                   &out.oracle_entropy[o], &out.is_copy[o]);
    else
      generate_row(seed, batch_index, r, &out.tokens[(size_t)r * (T + 1)], nullptr, nullptr, nullptr, nullptr);
  }
}

std::vector<float> BBTask::oracle_distribution(const int64_t* x) const {
  const int T = cfg_.seq_len, nb = cfg_.n_bos, Vm = vocab_size();
  std::vector<float> q((size_t)T * Vm, 0.0f);
  std::vector<uint8_t> seen(triggers_.size(), 0);
  const auto& marg = source_.marginal();
  for (int t = 0; t < T; ++t) {
    float* row = &q[(size_t)t * Vm];
    const int64_t cur = x[t];
    if (t < nb - 1) {
      row[V_ + t + 1] = 1;
      continue;
    }
    if (t == nb - 1) {
      for (int b = 0; b < V_; ++b) row[b] = (float)std::exp(first_logp_[b]);
      continue;
    }
    const bool trig = cur < V_ && trig_flag_[cur];
    auto bigram = [&](double w) {
      const double* P = source_.transition_row((int)cur);
      for (int b = 0; b < V_; ++b) row[b] += (float)(w * P[b]);
    };
    if (!trig || cfg_.kind == TaskKind::Markov) {
      bigram(1.0);
    } else if (cfg_.kind == TaskKind::BB) {
      row[x[t - 1]] = 1;
    } else if (cfg_.kind == TaskKind::BBMix) {
      bigram(1 - cfg_.mix_p);
      row[x[t - 1]] += (float)cfg_.mix_p;
    } else {
      uint8_t& s = seen[trig_index_[cur]];
      if (s) {
        row[x[t + 1]] = 1;  // the association, already observed earlier in the sequence
      } else {
        for (int b = 0; b < V_; ++b) row[b] = (float)marg[b];
        s = 1;
      }
    }
  }
  return q;
}

OracleStats BBTask::oracle_stats(uint64_t seed, int n_seqs, int threads) const {
  require(n_seqs >= 2, "oracle statistics need at least 2 sequences");
  const int T = cfg_.seq_len;
  struct Acc {
    double sum[3] = {0, 0, 0};
    int64_t cnt[3] = {0, 0, 0};
  };
  std::vector<Acc> per(n_seqs);
  const int nt = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel num_threads(nt)
  {
    std::vector<int64_t> tok(T + 1);
    std::vector<uint8_t> trig(T);
    std::vector<float> ent(T);
#pragma omp for schedule(static)
    for (int r = 0; r < n_seqs; ++r) {
      generate_row(seed, 0x0a11cafeULL, r, tok.data(), trig.data(), nullptr, ent.data(), nullptr);
      Acc& a = per[r];
      for (int t = 0; t < T; ++t) {
        const int role = trig[t] ? 1 : 2;
        a.sum[0] += ent[t];
        a.cnt[0] += 1;
        a.sum[role] += ent[t];
        a.cnt[role] += 1;
      }
    }
  }
  OracleStats s;
  double mean[3], se[3];
  for (int k = 0; k < 3; ++k) {
    double S = 0;
    int64_t C = 0;
    for (auto& a : per) S += a.sum[k], C += a.cnt[k];
    mean[k] = C ? S / C : 0.0;
    // Ratio-estimator standard error over sequences.
    double cbar = (double)C / n_seqs, v = 0;
    for (auto& a : per) {
      double d = a.sum[k] - mean[k] * a.cnt[k];
      v += d * d;
    }
    se[k] = C ? std::sqrt(v / (n_seqs - 1) / n_seqs) / cbar : 0.0;
    if (k == 0) s.positions = C;
    if (k == 1) s.trigger_fraction = (double)C / ((double)n_seqs * T);
  }
  s.loss_all = mean[0], s.loss_trigger = mean[1], s.loss_nontrigger = mean[2];
  s.se_all = se[0], s.se_trigger = se[1], s.se_nontrigger = se[2];
  return s;
}

}  // namespace sinklab
