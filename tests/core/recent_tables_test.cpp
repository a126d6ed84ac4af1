// RecentTables (core/recent_tables.h): a table equal to a kept one gets the kept thing without
// making it again; unequal tables (in any value, in length, or under another tag) each get their
// own; when full, the least recently used entry goes, and only it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/recent_tables.h"

using namespace s0;

namespace {

// Counts the things made; each is named by its number.
struct Maker {
  int made = 0;
  auto operator()() {
    return [this] { return ++made; };
  }
};

}  // namespace

TEST(RecentTables, AnEqualTableGetsTheKeptThing) {
  RecentTables<int> kept(4);
  Maker m;
  EXPECT_EQ(kept.get(0, {1, 2, 3}, m()), 1);
  EXPECT_EQ(kept.get(0, {1, 2, 3}, m()), 1);
  EXPECT_EQ(m.made, 1);
  EXPECT_EQ(kept.get(0, {1, 2, 4}, m()), 2) << "one value differs";
  EXPECT_EQ(kept.get(0, {1, 2}, m()), 3) << "a prefix";
  EXPECT_EQ(kept.get(1, {1, 2, 3}, m()), 4) << "another tag";
  EXPECT_EQ(kept.get(0, {}, m()), 5) << "an empty table is kept as any other";
  EXPECT_EQ(kept.get(0, {}, m()), 5);
  EXPECT_EQ(m.made, 5);
  EXPECT_EQ(kept.size(), 4u);
}

TEST(RecentTables, TheLeastRecentlyUsedGoesWhenFull) {
  RecentTables<int> kept(3);
  Maker m;
  kept.get(0, {10}, m());  // 1
  kept.get(0, {20}, m());  // 2
  kept.get(0, {30}, m());  // 3
  EXPECT_EQ(kept.get(0, {10}, m()), 1);  // {20} is now the least recently used
  EXPECT_EQ(kept.get(0, {40}, m()), 4);  // replaces {20}
  EXPECT_EQ(kept.get(0, {10}, m()), 1);
  EXPECT_EQ(kept.get(0, {30}, m()), 3);
  EXPECT_EQ(kept.get(0, {40}, m()), 4);
  EXPECT_EQ(m.made, 4);
  EXPECT_EQ(kept.get(0, {20}, m()), 5) << "{20} was made again";
  EXPECT_EQ(kept.size(), 3u);
}

// Many tables of one length, each found again by its values.
TEST(RecentTables, ManyTablesOfOneLengthStayApart) {
  RecentTables<std::string> kept(64);
  for (int64_t i = 0; i < 64; ++i) kept.get(0, {i, -i, i * i}, [&] { return std::to_string(i); });
  for (int64_t i = 0; i < 64; ++i)
    EXPECT_EQ(kept.get(0, {i, -i, i * i}, [] { return std::string("made again"); }), std::to_string(i));
}

TEST(RecentTables, CapacityZeroStillKeepsOne) {
  RecentTables<int> kept(0);
  Maker m;
  EXPECT_EQ(kept.get(0, {7}, m()), 1);
  EXPECT_EQ(kept.get(0, {7}, m()), 1);
  EXPECT_EQ(kept.get(0, {8}, m()), 2);
  EXPECT_EQ(kept.size(), 1u);
}
