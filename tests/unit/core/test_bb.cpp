// Statistical and structural properties of the Bigram-Backcopy data engine.
#include <cmath>
#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "data/bb.h"
#include "data/bigram.h"
#include "data/rng.h"
#include "io/error.h"

using namespace sinklab;

namespace {

std::string shakespeare() { return std::string(SINKLAB_DATA_DIR) + "/bb/tinyshakespeare_char_counts.json"; }

BigramSource source_for_tests() { return BigramSource::from_counts_json(shakespeare()); }

// The message of the InputError `f` throws ("" if none).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TaskConfig cfg(TaskKind k, int T) {
  TaskConfig c;
  c.kind = k;
  c.seq_len = T;
  return c;
}

double H(const double* p, int n) {
  double h = 0;
  for (int i = 0; i < n; ++i)
    if (p[i] > 0) h -= p[i] * std::log(p[i]);
  return h;
}

}  // namespace

TEST(Alias, SamplesMatchWeights) {
  std::vector<double> w = {0.5, 0.0, 0.25, 0.125, 0.125};
  AliasTable a(w);
  Rng rng(7);
  std::vector<double> c(w.size(), 0);
  const int N = 400000;
  for (int i = 0; i < N; ++i) c[a.sample(rng.next())] += 1;
  EXPECT_EQ(c[1], 0);
  for (size_t i = 0; i < w.size(); ++i) {
    double se = std::sqrt(w[i] * (1 - w[i]) / N) + 1e-12;
    EXPECT_NEAR(c[i] / N, w[i], 5 * se) << i;
  }
}

TEST(Bigram, CountsJsonLoadsPaperSource) {
  auto s = BigramSource::from_counts_json(shakespeare());
  EXPECT_EQ(s.vocab_size(), 65);
  auto f = s.by_frequency();
  EXPECT_EQ(s.vocab()[f[0]], " ");
  EXPECT_EQ(s.vocab()[f[1]], "e");
  EXPECT_EQ(s.vocab()[f[2]], "t");
  for (int a = 0; a < s.vocab_size(); ++a) {
    double sum = 0;
    for (int b = 0; b < s.vocab_size(); ++b) sum += s.transition(a, b);
    EXPECT_NEAR(sum, 1.0, 1e-12);
  }
}

TEST(Bigram, BuiltinShakespeareEqualsCountsFile) {
  // The counts compiled into the binary are those of data/bb/tinyshakespeare_char_counts.json.
  auto built_in = BigramSource::from_spec("shakespeare");
  auto file = BigramSource::from_spec("counts:" + shakespeare());
  EXPECT_EQ(built_in.name(), "shakespeare");
  EXPECT_EQ(built_in.vocab_size(), 65);
  EXPECT_EQ(built_in.vocab(), file.vocab());
  EXPECT_EQ(built_in.unigram_counts(), file.unigram_counts());
  EXPECT_EQ(built_in.bigram_counts(), file.bigram_counts());
  EXPECT_EQ(built_in.marginal(), file.marginal());
  EXPECT_EQ(built_in.fallback_rows(), file.fallback_rows());
}

TEST(Bigram, SpecErrorsNameTheProblem) {
  auto unknown = error_of([] { BigramSource::from_spec("shakespear"); });
  EXPECT_NE(unknown.find("unknown source 'shakespear'"), std::string::npos) << unknown;
  for (const char* name : {"synthetic", "shakespeare", "counts:FILE.json", "text:FILE"})
    EXPECT_NE(unknown.find(name), std::string::npos) << name << " not in: " << unknown;
  EXPECT_NE(error_of([] { BigramSource::from_spec("counts:"); }).find("names no file"), std::string::npos);
  EXPECT_NE(error_of([] { BigramSource::from_spec("text:"); }).find("names no file"), std::string::npos);
  EXPECT_NE(error_of([] { BigramSource::from_spec("counts:/nonexistent/c.json"); }).find("cannot read"),
            std::string::npos);
  EXPECT_NE(error_of([] { BigramSource::from_spec("synthetic:48x"); }).find("expected synthetic:V[:SEED]"),
            std::string::npos);
  EXPECT_NE(error_of([] { BigramSource::from_counts_json_text(" \n", "empty.json"); }).find("empty.json: empty file"),
            std::string::npos);
  EXPECT_NE(error_of([] { BigramSource::from_counts_json_text("{\"vocab\": [", "cut.json"); }).find("malformed JSON"),
            std::string::npos);
  EXPECT_EQ(BigramSource::from_spec("synthetic:16:7").vocab_size(), 16);
}

TEST(Bigram, ZeroRowFallsBackToMarginal) {
  // Token 'c' never has a successor: its row uses the unigram marginal.
  auto s = BigramSource::from_text("abab abc", "inline");
  int c = s.find("c");
  ASSERT_GE(c, 0);
  ASSERT_EQ(s.fallback_rows(), std::vector<int>{c});
  for (int b = 0; b < s.vocab_size(); ++b) EXPECT_DOUBLE_EQ(s.transition(c, b), s.marginal()[b]);
}

TEST(Bigram, TextSourceCountsUtf8Characters) {
  auto s = BigramSource::from_text("h\xc3\xa9h\xc3\xa9!", "inline");
  EXPECT_EQ(s.vocab_size(), 3);
  int e = s.find("\xc3\xa9");
  ASSERT_GE(e, 0);
  EXPECT_DOUBLE_EQ(s.unigram_counts()[e], 2);
  EXPECT_THROW(BigramSource::from_text(std::string("ab\0cd", 5), "bin"), InputError);
  EXPECT_THROW(BigramSource::from_text("ab\xff", "bad"), InputError);
  EXPECT_THROW(BigramSource::from_text("", "empty"), InputError);
}

TEST(Bigram, SyntheticIsSkewedAndSparse) {
  auto s = BigramSource::synthetic();
  auto m = s.marginal();
  std::sort(m.rbegin(), m.rend());
  EXPECT_GT(m[0], 4 * m[m.size() / 2]);  // skewed marginal
  int V = s.vocab_size();
  double mean_support = 0;
  for (int a = 0; a < V; ++a) {
    int nz = 0;
    double mx = 0;
    for (int b = 0; b < V; ++b) nz += s.transition(a, b) > 0, mx = std::max(mx, s.transition(a, b));
    mean_support += nz;
    EXPECT_GT(mx, 0.3);  // peaked rows
  }
  EXPECT_LT(mean_support / V, 12);  // sparse rows
  // Deterministic given the seed.
  EXPECT_EQ(BigramSource::synthetic().bigram_counts(), s.bigram_counts());
  EXPECT_NE(BigramSource::synthetic(48, 99).bigram_counts(), s.bigram_counts());
}

TEST(BB, MarkovBigramFrequenciesMatchP) {
  BBTask task(source_for_tests(), cfg(TaskKind::Markov, 256));
  const int V = task.n_source();
  Batch b;
  std::vector<double> counts((size_t)V * V, 0), rows(V, 0);
  for (int bi = 0; bi < 8; ++bi) {
    task.generate(42, bi, 512, b, 0, false);
    for (int r = 0; r < b.B; ++r)
      for (int t = 2; t <= b.T; ++t) {
        int64_t a = b.tokens[(size_t)r * (b.T + 1) + t - 1], c = b.tokens[(size_t)r * (b.T + 1) + t];
        counts[(size_t)a * V + c] += 1;
        rows[a] += 1;
      }
  }
  // Pearson chi-square over all cells with expected count >= 5; the statistic must be
  // within 6 standard deviations of its degrees of freedom (fixed seed: deterministic).
  double chi2 = 0;
  int df = 0;
  for (int a = 0; a < V; ++a) {
    if (rows[a] < 100) continue;
    int cells = 0;
    for (int c = 0; c < V; ++c) {
      double e = rows[a] * task.source().transition(a, c);
      if (e < 5) continue;
      chi2 += (counts[(size_t)a * V + c] - e) * (counts[(size_t)a * V + c] - e) / e;
      ++cells;
    }
    df += std::max(0, cells - 1);
  }
  ASSERT_GT(df, 300);
  EXPECT_LT(std::abs(chi2 - df), 6 * std::sqrt(2.0 * df)) << "chi2=" << chi2 << " df=" << df;
}

TEST(BB, BackcopyRuleBosAndFirstToken) {
  for (int nb : {1, 2}) {
    TaskConfig c = cfg(TaskKind::BB, 128);
    c.n_bos = nb;
    BBTask task(source_for_tests(), c);
    Batch b;
    task.generate(3, 0, 256, b);
    int copies = 0;
    for (int r = 0; r < b.B; ++r) {
      const int64_t* x = &b.tokens[(size_t)r * (b.T + 1)];
      for (int i = 0; i < nb; ++i) ASSERT_EQ(x[i], task.bos_id(i));
      ASSERT_FALSE(task.is_trigger(x[nb])) << "x1 must never be a trigger";
      for (int t = nb; t <= b.T; ++t) ASSERT_LT(x[t], task.n_source()) << "BOS only at the start";
      for (int t = nb + 1; t <= b.T; ++t)
        if (task.is_trigger(x[t - 1])) {
          ASSERT_EQ(x[t], x[t - 2]) << "backcopy at row " << r << " t " << t;
          ++copies;
        }
      for (int t = 0; t < b.T; ++t) ASSERT_EQ(b.is_trigger[(size_t)r * b.T + t], task.is_trigger(x[t]) ? 1 : 0);
    }
    EXPECT_GT(copies, 1000);
  }
}

TEST(BB, SameSeedSameBatchWhateverThreads) {
  for (auto k : {TaskKind::BB, TaskKind::Markov, TaskKind::BBMix, TaskKind::Bietti}) {
    BBTask task(source_for_tests(), cfg(k, 64));
    Batch a, b, c;
    task.generate(11, 5, 300, a, 1);
    task.generate(11, 5, 300, b, 2);
    task.generate(11, 6, 300, c, 2);
    EXPECT_EQ(a.tokens, b.tokens);
    EXPECT_EQ(a.oracle_nll, b.oracle_nll);
    EXPECT_NE(a.tokens, c.tokens);
  }
}

// Exact expected oracle loss per role, computed by propagating the distribution of
// (x_{t-1}, x_t) pairs through the generating process: independent of the sampler.
struct Exact {
  double all, trig, non;
};
static Exact exact_oracle_loss(const BBTask& task) {
  const int V = task.n_source(), T = task.config().seq_len, S = V + 1;  // prev index V = BOS
  const auto& marg = task.source().marginal();
  std::vector<double> first(V);
  double fs = 0;
  for (int a = 0; a < V; ++a) fs += first[a] = task.is_trigger(a) ? 0 : marg[a];
  for (double& x : first) x /= fs;
  std::vector<double> h(V);
  for (int a = 0; a < V; ++a) h[a] = H(task.source().transition_row(a), V);
  const bool bb = task.config().kind == TaskKind::BB;
  std::vector<double> mu((size_t)S * V, 0.0), nx((size_t)S * V);
  for (int a = 0; a < V; ++a) mu[(size_t)V * V + a] = first[a];
  double sum_all = H(first.data(), V), sum_t = 0, sum_n = H(first.data(), V), cnt_t = 0, cnt_n = 1;
  for (int t = 1; t < T; ++t) {
    for (int p = 0; p < S; ++p)
      for (int a = 0; a < V; ++a) {
        double m = mu[(size_t)p * V + a];
        if (m == 0) continue;
        bool trig = task.is_trigger(a);
        double loss = (trig && bb) ? 0.0 : h[a];
        sum_all += m * loss;
        if (trig) sum_t += m * loss, cnt_t += m;
        else sum_n += m * loss, cnt_n += m;
      }
    std::fill(nx.begin(), nx.end(), 0.0);
    for (int p = 0; p < S; ++p)
      for (int a = 0; a < V; ++a) {
        double m = mu[(size_t)p * V + a];
        if (m == 0) continue;
        if (bb && task.is_trigger(a)) {
          nx[(size_t)a * V + p] += m;  // x_{t+1} = x_{t-1}
        } else {
          const double* P = task.source().transition_row(a);
          for (int c = 0; c < V; ++c) nx[(size_t)a * V + c] += m * P[c];
        }
      }
    mu.swap(nx);
  }
  return {sum_all / T, cnt_t > 0 ? sum_t / cnt_t : 0.0, sum_n / cnt_n};
}

TEST(BB, OracleLossEqualsAnalyticEntropy) {
  for (auto k : {TaskKind::BB, TaskKind::Markov}) {
    BBTask task(source_for_tests(), cfg(k, 64));
    Exact ex = exact_oracle_loss(task);
    OracleStats st = task.oracle_stats(1, 20000);
    EXPECT_NEAR(st.loss_all, ex.all, 4 * st.se_all + 1e-9) << task_kind_name(k);
    EXPECT_NEAR(st.loss_nontrigger, ex.non, 4 * st.se_nontrigger + 1e-9) << task_kind_name(k);
    EXPECT_NEAR(st.loss_trigger, ex.trig, 4 * st.se_trigger + 1e-9) << task_kind_name(k);
    if (k == TaskKind::BB) EXPECT_EQ(st.loss_trigger, 0.0);
    EXPECT_LT(st.se_all, 0.01);
  }
}

TEST(BB, OracleNllAndDistributionAgree) {
  for (auto k : {TaskKind::BB, TaskKind::Markov, TaskKind::BBMix, TaskKind::Bietti}) {
    TaskConfig c = cfg(k, 48);
    c.n_bos = 2;
    BBTask task(source_for_tests(), c);
    Batch b;
    task.generate(9, 0, 20, b);
    const int Vm = task.vocab_size();
    for (int r = 0; r < b.B; ++r) {
      const int64_t* x = &b.tokens[(size_t)r * (b.T + 1)];
      auto q = task.oracle_distribution(x);
      for (int t = 0; t < b.T; ++t) {
        const float* row = &q[(size_t)t * Vm];
        double s = 0;
        for (int v = 0; v < Vm; ++v) s += row[v];
        ASSERT_NEAR(s, 1.0, 1e-5);
        ASSERT_GT(row[x[t + 1]], 0.0f) << "oracle gives zero mass to the actual next token";
        ASSERT_NEAR(-std::log((double)row[x[t + 1]]), b.oracle_nll[(size_t)r * b.T + t], 2e-4);
        std::vector<double> dq(row, row + Vm);
        ASSERT_NEAR(H(dq.data(), Vm), b.oracle_entropy[(size_t)r * b.T + t], 2e-4);
      }
    }
  }
}

TEST(BB, BiettiAssociationIsFixedPerSequence) {
  BBTask task(source_for_tests(), cfg(TaskKind::Bietti, 256));
  Batch b;
  task.generate(4, 0, 64, b);
  for (int r = 0; r < b.B; ++r) {
    std::map<int64_t, int64_t> m;
    const int64_t* x = &b.tokens[(size_t)r * (b.T + 1)];
    for (int t = 1; t < b.T; ++t)
      if (task.is_trigger(x[t])) {
        auto it = m.find(x[t]);
        if (it == m.end()) m[x[t]] = x[t + 1];
        else ASSERT_EQ(it->second, x[t + 1]);
      }
  }
}

TEST(BB, BadConfigsAreInputErrors) {
  auto src = BigramSource::synthetic();
  TaskConfig c;
  c.seq_len = 1;
  EXPECT_THROW(BBTask(src, c), InputError);
  c = TaskConfig{};
  c.n_triggers = 100;
  EXPECT_THROW(BBTask(src, c), InputError);
  c = TaskConfig{};
  c.triggers = {"#notatoken"};
  EXPECT_THROW(BBTask(src, c), InputError);
  EXPECT_THROW(parse_task_kind("bigram"), InputError);
}
