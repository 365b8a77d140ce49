// Outputs of `sinklab llm scan`: CSV files of every number behind the figures, the
// figures (gnuplot) and a standalone report.html.
#pragma once
#include <string>
#include <vector>

#include "analysis/llm_scan.h"

namespace sinklab::report {

struct LlmSample {  // attention of one head on a sample text
  llm::HeadRef head;
  int domain = 0;
  std::vector<std::string> tokens;
  std::vector<std::vector<double>> weights;
};

struct LlmReportInput {
  std::string command;             // the command line, shown in the report
  std::string model_name;
  const llm::ScanResult* scan = nullptr;        // the main configuration (required)
  const llm::ScanResult* other_bos = nullptr;   // the other BOS setting, or null
  std::vector<llm::HeadRank> ranked;            // of *scan
  const llm::AblationRun* ablation = nullptr;   // or null
  const llm::AblationRun* attribution = nullptr;  // estimates for every head (attribute_all_heads), or null
  std::vector<LlmSample> samples;
  int top_table = 20;              // rows in the top-heads table
};

// Writes out_dir/{heads,head_docs,layers,outliers,ranking,secondary_sinks,secondary_tokens,
// docs,ablation,ablation_docs,attribution,sample_attention}.csv (ablation / attribution
// files only with those runs). Returns the paths written.
std::vector<std::string> write_llm_csv(const std::string& out_dir, const LlmReportInput& in);

// Figures under out_dir/figures and out_dir/report.html. Without gnuplot the report
// has tables only (and says so). Returns the report path.
std::string write_llm_report(const std::string& out_dir, const LlmReportInput& in);

// One-paragraph verdict per ranked domain-dependent head (dormant in one domain, active
// in the other): does ablation hurt where the head is active and not where it is
// dormant? Plain text lines.
std::vector<std::string> ablation_verdicts(const LlmReportInput& in, int max_heads = 10);

// Over every domain-dependent head (dormant in one domain, active in the other): in
// how many is the estimated zero-head cost (attribution) larger in the domain where the
// head is active? Plain text lines, empty without an attribution run or 2 domains.
std::vector<std::string> attribution_summary(const LlmReportInput& in);

}  // namespace sinklab::report
