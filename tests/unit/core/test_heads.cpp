// One head notation: printed L3H5, accepted as L3H5, l3h5 or 3.5.
#include <cmath>

#include <gtest/gtest.h>

#include "analysis/core/heads.h"
#include "io/error.h"

using namespace sinklab;

TEST(HeadRef, PrintsOneNotationAndParsesBoth) {
  EXPECT_EQ(head_label(3, 5), "L3H5");
  EXPECT_EQ(head_label(HeadRef{12, 0}), "L12H0");
  for (std::string t : {"L3H5", "l3h5", "3.5"}) {
    HeadRef r = parse_head(t);
    EXPECT_EQ(r.layer, 3) << t;
    EXPECT_EQ(r.head, 5) << t;
  }
  EXPECT_EQ(parse_head(head_label(29, 8)), (HeadRef{29, 8}));
  for (std::string bad : {"", "L", "L3", "L3H", "3.", ".5", "3.5.1", "L3H5x", "x3.5", "3,5", "L-1H0", "1x2",
                          "L3 H5", "99999999.0"}) {
    try {
      parse_head(bad, "--head");
      FAIL() << bad;
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()), "--head: '" + bad + "' is not a head (use L3H5 or 3.5)");
    }
  }
}

// One rule for dormant and active; a non-finite measure is never classified (issue 20).
TEST(HeadState, DormantActiveOrUndefined) {
  EXPECT_STREQ(head_state(0.9, 0.5), "dormant");
  EXPECT_STREQ(head_state(0.5, 0.5), "dormant");
  EXPECT_STREQ(head_state(0.1, 0.5), "active");
  EXPECT_STREQ(head_state(std::nan(""), 0.5), "undefined");
  EXPECT_STREQ(head_state(INFINITY, 0.5), "undefined");
}
