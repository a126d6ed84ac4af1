#pragma once
// Shapes shared by the forward and backward op tests, printed by field so that CTest lists each
// parameterised case by its values (GoogleTest otherwise prints a struct as its raw bytes).
#include <cstdint>
#include <ostream>

struct AttnShape {
  int64_t T, H, Hkv, D;
};

inline void PrintTo(const AttnShape& s, std::ostream* os) {
  *os << "T=" << s.T << " H=" << s.H << " Hkv=" << s.Hkv << " D=" << s.D;
}
