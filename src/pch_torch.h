// Precompiled header for every translation unit that uses LibTorch.
// Headers under src/ never include torch/torch.h themselves.
#pragma once
#include <torch/torch.h>
