#pragma once
// Every bad input the engine meets becomes an s0::Error carrying one line that names the file,
// tensor or field and what was expected. The CLI prints it and exits non-zero.
#include <sstream>
#include <stdexcept>
#include <string>

namespace s0 {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Concatenates the pieces with operator<<: fail("file ", path, ": tensor ", name, " missing").
template <typename... Parts>
std::string cat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  throw Error(cat(parts...));
}

}  // namespace s0
