// radix_sort (core/radix_sort.h) against std::sort: random keys of every width, keys sharing
// digits (passes skipped), repeated keys, the sampler's own key layout, and sizes 0 to a few hundred
// thousand.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "core/radix_sort.h"

using namespace s0;

namespace {

void expect_sorted_like_std(std::vector<uint64_t> keys, const char* what) {
  std::vector<uint64_t> expected = keys;
  std::sort(expected.begin(), expected.end());
  radix_sort(keys.data(), keys.data() + keys.size());
  EXPECT_EQ(keys, expected) << what << ", " << keys.size() << " keys";
}

}  // namespace

TEST(RadixSort, SortsAsStdSortDoes) {
  std::mt19937_64 rng(3);
  for (const size_t n : {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{255}, size_t{256}, size_t{1000},
                         size_t{65537}, size_t{248320}}) {
    std::vector<uint64_t> full(n), narrow(n), repeated(n), sampler(n), high(n);
    for (size_t i = 0; i < n; ++i) {
      full[i] = rng();
      narrow[i] = rng() & 0xfff;                  // only the low digits vary
      repeated[i] = rng() % 7 * 0x0101010101010101ull;  // many equal keys, every digit varying
      // The sampler's: inverted logit bits above a 22-bit id, ten zero bits between.
      sampler[i] = (rng() & 0xffffffffull) << 32 | (i & 0x3fffff);
      high[i] = (rng() & 0xff) << 56 | 42;  // only the top digit varies
    }
    expect_sorted_like_std(full, "full-width keys");
    expect_sorted_like_std(narrow, "12-bit keys");
    expect_sorted_like_std(repeated, "seven distinct keys");
    expect_sorted_like_std(sampler, "the sampler's layout");
    expect_sorted_like_std(high, "the top digit only");
  }
}

TEST(RadixSort, SortsASubrangeInPlace) {
  std::vector<uint64_t> keys = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0};
  radix_sort(keys.data() + 2, keys.data() + 7);
  EXPECT_EQ(keys, (std::vector<uint64_t>{9, 8, 3, 4, 5, 6, 7, 2, 1, 0}));
}
