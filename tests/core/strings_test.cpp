// Small string helpers: join and byte counts for people.
#include <gtest/gtest.h>

#include "core/strings.h"

using namespace s0;

TEST(Strings, JoinPutsTheSeparatorBetween) {
  EXPECT_EQ(join({}, ", "), "");
  EXPECT_EQ(join({"a"}, ", "), "a");
  EXPECT_EQ(join({"a", "b", "c"}, ", "), "a, b, c");
}

TEST(Strings, BytesTextUsesBinaryUnitsAndThreeDigits) {
  EXPECT_EQ(bytes_text(0), "0 B");
  EXPECT_EQ(bytes_text(1023), "1023 B");
  EXPECT_EQ(bytes_text(1024), "1.00 KiB");
  EXPECT_EQ(bytes_text(909696), "888 KiB");
  EXPECT_EQ(bytes_text(int64_t(3) << 20 | int64_t(400) << 10), "3.39 MiB");
  EXPECT_EQ(bytes_text(int64_t(8396) << 20), "8.20 GiB");
  EXPECT_EQ(bytes_text(int64_t(45) << 30), "45.0 GiB");
}
