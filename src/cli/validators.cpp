#include "cli/validators.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace s0::cli {
namespace {

// Bounds as a person writes them: 3600, 0.5, 1e-06 (never all the digits of a double).
std::string readable(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// Parses the whole of `text` as a number; empty when it is not one or is not finite.
bool parse_finite(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && errno != ERANGE && std::isfinite(out);
}

// A validator that parses the value as a finite number, then applies `in_range` (empty = valid).
template <typename Check>
CLI::Validator number_validator(std::string description, Check in_range) {
  return CLI::Validator(
      [in_range](std::string& text) -> std::string {
        double v = 0;
        if (!parse_finite(text, v)) return "must be a finite number, got \"" + text + "\"";
        return in_range(v, text);
      },
      std::move(description));
}

}  // namespace

CLI::Validator finite_number() {
  return number_validator("", [](double, const std::string&) { return std::string(); });
}

CLI::Validator at_least(double lo) {
  return number_validator(">= " + readable(lo), [lo](double v, const std::string& text) {
    return v >= lo ? std::string() : "must be at least " + readable(lo) + ", got " + text;
  });
}

CLI::Validator greater_than(double lo) {
  return number_validator("> " + readable(lo), [lo](double v, const std::string& text) {
    return v > lo ? std::string() : "must be greater than " + readable(lo) + ", got " + text;
  });
}

CLI::Validator between(double lo, double hi) {
  return number_validator(readable(lo) + ".." + readable(hi), [lo, hi](double v, const std::string& text) {
    return v >= lo && v <= hi ? std::string()
                              : "must be between " + readable(lo) + " and " + readable(hi) + ", got " + text;
  });
}

CLI::Validator unsigned_64() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
        if (!digits) return "must be a whole number from 0 to 18446744073709551615, got \"" + text + "\"";
        errno = 0;
        (void)std::strtoull(text.c_str(), nullptr, 10);
        if (errno == ERANGE) return "must be at most 18446744073709551615 (64 bits), got " + text;
        return std::string();
      },
      "");
}

void guard_numeric_options(CLI::App& app) {
  for (CLI::Option* opt : app.get_options()) {
    const std::string type = opt->get_type_name();
    if (type.rfind("FLOAT", 0) == 0) opt->check(finite_number());
    if (type.rfind("UINT", 0) == 0) opt->check(unsigned_64());
  }
}

}  // namespace s0::cli
