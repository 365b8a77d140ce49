// What `sinklab train` and `sinklab pretrain` share: -o RUN_DIR as config keys, and
// one training call with the exit codes of the trainer (3: diverged, 130: interrupted).
#pragma once
#include <string>
#include <vector>

#include "train/trainer.h"

namespace sinklab::cli {

// -o RUN_DIR -> {"run.out_dir=PARENT", "run.name=NAME"}; InputError when it names no
// directory or comes with --resume (which takes the run directory itself).
std::vector<std::string> run_dir_sets(const std::string& out, const std::string& resume);

// train_resume(resume, sets) when `resume` is set, else train_new(fresh). Returns 0, 3
// after a non-finite loss (message on stderr), or 130 when interrupted (a checkpoint
// written; the command that continues is `sinklab <command> --resume RUN`).
int run_training(const std::string& command, const std::string& resume, const TrainConfig& fresh,
                 const std::vector<std::string>& sets, const TrainOptions& opts, TrainOutcome& out);

}  // namespace sinklab::cli
