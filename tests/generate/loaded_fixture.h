#pragma once
// A shared fixture model loaded for generation tests, with prompts cut from its sequences.
#include <string>
#include <vector>

#include "check/reference_fixture.h"
#include "model/arch/registry.h"
#include "support/test_support.h"

namespace s0::test {

struct LoadedFixture {
  HybridModel model;
  ReferenceFixture fx;
  explicit LoadedFixture(const std::string& name)
      : model(load_model(fixture_model(name))), fx(ReferenceFixture::open(fixture_model(name), model)) {}
  // The first `len` tokens of fixture sequence k.
  std::vector<int64_t> prompt(size_t k, int64_t len) const {
    return std::vector<int64_t>(fx.sequences[k].begin(), fx.sequences[k].begin() + len);
  }
};

// A fixture name as a test-name suffix (GoogleTest allows no '-').
inline std::string fixture_test_name(std::string name) {
  for (char& c : name)
    if (c == '-') c = '_';
  return name;
}

}  // namespace s0::test
