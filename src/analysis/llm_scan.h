// Extreme tokens and active-dormant heads in a pretrained LLM, one concern a file:
// src/analysis/llm_scan.cpp (domains, the scan and its metrics), llm_rank.cpp (ranking,
// head selections), llm_ablation.cpp (ablation, attribution, agreement);
// analysis/core/bootstrap (intervals) and analysis/core/heads (notation, dormant rule).
//
// scan(): per domain, per document (batch 1, one forward pass each, hooks recorded
// and reduced at once), per layer and head:
//   sink_mass     mean over queries q > P of p[q, P]            (P = sink position)
//   top1, top2    mean over the same queries of the largest / two largest weights
//   row_entropy   mean over the same queries of H(p[q, :]) / log(q + 1)
//   col_entropy   H(c) / log(T), c = attention received per key summed over the
//                 same queries, normalised to a distribution
//   v_sink, v_other  norm of the sink's value state (hook_v, per query head) and the
//                 mean norm over the other positions
//   gap_mean, gap_std  over the same queries of s[q, P] - mean_{k <= q, k != P} s[q, k]
//                 (scaled logits, hook_attn_scores): the sink-logit concentration is
//                 gap_std (spread across queries), as in analysis/toy_metrics.cpp
// per layer (hook_resid_post): the norm of the sink's residual and the mean norm of
// the others, the sink's three largest |activations| with their hidden dimensions,
// the median |activation| over all positions and dimensions, and the largest
// |activation| anywhere with its position and dimension (massive activations).
// Secondary sinks: key positions k != P whose mean attention over the later queries
// (q > k, q > P) is >= secondary_threshold, with at least min_later such queries.
//
// Documents: tokenised (with or without BOS), then truncated to ctx + 1 tokens: the
// forward pass sees ctx tokens and the loss scores the ctx next-token predictions.
// Documents with fewer than ctx + 1 tokens are SKIPPED and counted (never padded).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "analysis/core/bootstrap.h"
#include "analysis/core/heads.h"
#include "analysis/interventions.h"
#include "analysis/outliers.h"
#include "data/corpus.h"
#include "model/hooks.h"

namespace sinklab {

class Transformer;
class Tokenizer;

namespace llm {

struct ScanOptions {
  int docs = 64;                     // documents per domain (after skipping short ones)
  int ctx = 256;                     // tokens seen by the forward pass
  int sink_pos = 0;                  // P
  bool add_bos = true;               // prepend the tokenizer's BOS token
  double dormant_threshold = 0.5;    // head dormant when sink_mass >= this
  double secondary_threshold = 0.3;  // secondary sink: mean later-query mass >= this
  int min_later = 8;                 // ... received from at least this many queries
  bool progress = false;
};

// InputError naming the option ("--docs", "--ctx", "--sink-pos", "--threshold") when
// docs < 1, ctx < 2, the sink position is outside 0..ctx-2 or the threshold outside [0, 1].
void validate(const ScanOptions& o);
// Bytes a scan of documents of `ctx` tokens needs beyond the model's weights, roughly:
// the attention scores and patterns of every layer kept for one document (float32 and
// their float64 copies), and the transient attention of `batch` ablated copies.
double scan_memory_bytes(int n_layers, int n_heads, int ctx, int batch);

struct Document {
  std::vector<int32_t> ids;          // ctx + 1 tokens
  std::vector<std::string> pieces;   // token texts
  int source_index = 0;              // line index in the corpus
};

struct DomainDocs {
  std::string name;
  std::vector<Document> docs;
  int skipped_short = 0;             // documents with fewer than ctx + 1 tokens
};

// Tokenises and truncates; skips short documents (counted); stops once `docs` are
// kept. InputError if none is long enough or add_bos is asked of a tokenizer without BOS.

DomainDocs prepare_domain(const Tokenizer& tok, const std::string& name, const std::vector<std::string>& texts,
                          const ScanOptions& opt);

struct HeadDoc {
  double sink_mass = 0, top1 = 0, top2 = 0, row_entropy = 0, col_entropy = 0;
  double v_sink = 0, v_other = 0, gap_mean = 0, gap_std = 0;
};
struct LayerDoc {
  double resid_sink = 0, resid_other = 0, median_abs = 0;
  double top_val[3] = {0, 0, 0};     // signed values of the sink's 3 largest |activations|
  int top_dim[3] = {0, 0, 0};
  double max_abs = 0;                // largest |activation| at any position
  int max_pos = 0, max_dim = 0;
};
struct SecondarySink {
  int doc = 0, layer = 0, head = 0, position = 0;
  std::string token;
  double mass = 0;                   // mean attention from later queries
};

struct DomainScan {
  std::string name;
  int skipped_short = 0;
  std::vector<Document> docs;
  std::vector<std::vector<HeadDoc>> heads;    // [doc][layer * n_heads + head]
  std::vector<std::vector<LayerDoc>> layers;  // [doc][layer]
  std::vector<double> base_loss;              // [doc] mean NLL nats/token
  std::vector<SecondarySink> secondary;
  // On the first outlier_docs documents (measure_domain_outliers; empty until then).
  OutlierMetrics outliers;
  int outlier_docs = 0;
};

struct ScanResult {
  ScanOptions opt;
  int n_layers = 0, n_heads = 0;
  std::vector<DomainScan> domains;
  double seconds = 0;       // wall time of the scan
  int forward_passes = 0;
};

// One forward pass per document; reduces hooks immediately.
ScanResult scan(const Transformer& model, const std::vector<DomainDocs>& domains, const ScanOptions& opt);

// Documents as one batch of token ids [docs, ctx + 1].
at::Tensor doc_batch(const std::vector<Document>& docs);
// The outlier metrics (src/analysis/outliers.h) of every domain of `r` on its first
// `max_docs` documents (one batch: the residual stream of every layer is held at once).
void measure_domain_outliers(Transformer& model, ScanResult& r, int max_docs = 16);

// Mean over documents of a HeadDoc field for one head.
double head_mean(const DomainScan& d, int n_heads, int layer, int head, double HeadDoc::*field);
std::vector<double> head_values(const DomainScan& d, int n_heads, int layer, int head, double HeadDoc::*field);
double layer_mean(const DomainScan& d, int layer, double LayerDoc::*field);

// ---------------------------------------------------------------- bootstrap
using sinklab::Interval;  // src/analysis/core/bootstrap.h
using sinklab::bootstrap_mean;
using sinklab::bootstrap_diff;

// ---------------------------------------------------------------- classification
using sinklab::HeadRef;  // src/analysis/core/heads.h: one notation, L3H5
using sinklab::head_label;

struct HeadRank {
  HeadRef head;
  int dom_a = 0, dom_b = 0;   // domain indices of the largest |difference|
  double mass_a = 0, mass_b = 0;
  Interval diff;              // mass_a - mass_b with bootstrap CI
  bool dormant_a = false, dormant_b = false;
  bool domain_dependent() const { return dormant_a != dormant_b; }
};
// Every head, ranked by |sink-mass difference| (the pair of domains with the largest
// one); with one domain, ranked by sink mass (diff = mass, dom_b = dom_a).
std::vector<HeadRank> rank_heads(const ScanResult& r, int resamples = 1000, uint64_t seed = 1234);

// ---------------------------------------------------------------- ablation
// The interventions (src/analysis/interventions.h) an LLM scan runs on each selected
// head: zero-head and attend-sink (those with an attribution estimate below).
const std::vector<Intervention>& scan_interventions();

// "all", "top:K", or heads "L3H5,7.0" (src/analysis/core/heads.h). top:K: the K
// best-ranked domain-dependent heads (HeadRank::domain_dependent(); fewer when fewer
// are), or with one domain the K heads with the most sink mass. InputError on unknown heads.
std::vector<HeadRef> parse_head_selection(const std::string& spec, int n_layers, int n_heads,
                                          const std::vector<HeadRank>& ranked);

// Mean next-token NLL (nats/token) of each row of tokens [B, T+1] (int64).
std::vector<double> sequence_loss(const Transformer& model, const at::Tensor& tokens, Hooks* hooks = nullptr);

struct AblationResult {
  HeadRef head;
  Intervention kind = Intervention::ZeroHead;
  int domain = 0;
  std::vector<double> delta;  // [doc] ablated loss - base loss (first max_docs documents)
  Interval ci;
};
struct AblationOptions {
  int batch = 8;              // ablated copies of a document per forward pass (one layer's heads)
  std::vector<Intervention> kinds;  // of scan_interventions(); empty = both
  int max_docs = 0;           // first N scanned documents per domain (0 = all)
  int resamples = 1000;
  uint64_t seed = 1234;
  bool progress = false;
  bool graddrop = false;      // attribute_all_heads: AtP*'s GradDrop (below)
};
struct AblationRun {
  std::string method = "exact";  // exact | atp | atp-graddrop
  bool magnitude = false;        // results estimate |loss change| per document (GradDrop), not its sign
  std::vector<AblationResult> results;
  double seconds = 0;
  int forward_passes = 0;     // batched passes
  int ablated_sequences = 0;  // document copies evaluated
};
// Exact ablation: every (head, kind) on every document, as the loss change of the
// ablated copy. The clean forward of a document is run once; copies ablated in layer l
// start from its residual stream entering l (Transformer::forward_from), batched up to
// opt.batch copies of one layer per pass.
AblationRun ablate(const Transformer& model, const ScanResult& r, const std::vector<HeadRef>& heads,
                   const AblationOptions& opt);

// Linear estimate ("attribution patching") of both ablations for EVERY head, from one
// forward and one backward pass per document: with g = dL/dz (L = the document's mean
// next-token NLL, z = the head's output before W_O at every query position),
//   zero-head    dL ~ sum_q g_q . (0 - z_q)
//   attend-sink  dL ~ sum_{q >= P} g_q . (v_P - z_q)       (v_P: the head's value at the sink)
// First order in the change of z: exact ablation (ablate()) checks it on the heads it
// runs, and the report states the agreement. Results have the AblationResult layout
// (delta per document, bootstrap CI), ordered layer, head, kind, domain.
// opt.batch is not used.
// opt.graddrop: AtP*'s GradDrop (Kramar et al. 2024, against cancellation between a
// node's paths to the loss): for every layer l, the estimate g_{-l} with the gradient
// through layer l's residual contributions (attention and MLP outputs) dropped, and per
// document the estimate |c| = 1/(L-1) sum_l |g_{-l}| (layers up to the node's own
// leave its gradient unchanged or zero it). It estimates the size of each head's effect,
// not its sign (run.magnitude), at L-1 forward and backward passes per document.
// plain (with opt.graddrop): also the plain estimate, which GradDrop computes on the way.
AblationRun attribute_all_heads(const Transformer& model, const ScanResult& r, const AblationOptions& opt,
                                AblationRun* plain = nullptr);

// Pearson correlation of the exact and estimated mean loss changes over the (head,
// kind, domain) entries present in both runs; n = number of pairs. NaN when n < 3.
// Against a magnitude estimate (GradDrop) the exact side is the mean of |change| per
// document. top_hits / top_n: over every (kind, domain), the top_k entries by exact
// change that are among the top_pool by the estimate.
struct Agreement {
  int n = 0;
  double pearson = 0;
  double spearman = 0;
  double sign_agree = 0;  // fraction of pairs whose estimate has the sign of the exact change
  int top_k = 10, top_pool = 30, top_hits = 0, top_n = 0;
};
// magnitude: compare mean |change| per document on both sides (always so against a
// magnitude estimate).
Agreement estimate_agreement(const AblationRun& exact, const AblationRun& estimate, bool magnitude = false);

// Attention weights [T][T] of the given heads on one token sequence (batch 1).
std::vector<std::vector<std::vector<double>>> attention_of(const Transformer& model, const std::vector<int32_t>& ids,
                                                           const std::vector<HeadRef>& heads);

}  // namespace llm
}  // namespace sinklab
