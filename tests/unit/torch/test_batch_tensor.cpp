#include <gtest/gtest.h>

#include "data/torch/batch_tensor.h"

using namespace sinklab;

TEST(BatchTensor, ShapesDtypesAndValues) {
  TaskConfig c;
  c.seq_len = 32;
  BBTask task(BigramSource::synthetic(), c);
  Batch b;
  task.generate(1, 0, 8, b);
  auto t = to_tensors(b);
  EXPECT_EQ(t.tokens.sizes(), (std::vector<int64_t>{8, 33}));
  EXPECT_EQ(t.tokens.scalar_type(), torch::kInt64);
  EXPECT_EQ(t.is_trigger.scalar_type(), torch::kBool);
  EXPECT_EQ(t.tokens[3][5].item<int64_t>(), b.tokens[3 * 33 + 5]);
  EXPECT_TRUE(t.tokens.select(1, 0).eq(task.bos_id()).all().item<bool>());
}
