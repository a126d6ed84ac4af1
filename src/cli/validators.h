#pragma once
// Range checks for command-line values with readable messages ("must be between 1 and 3600, got
// 1e+12"), in place of CLI11's PositiveNumber and friends, whose messages print the largest double
// in full (300 digits). Every value is first parsed as a finite number: "nan", "inf" and
// "Infinity" are refused everywhere through finite_number(), which guard_numeric_options() attaches
// to every floating-point option of every command, so a new double flag cannot forget it.
#include <CLI/CLI.hpp>
#include <string>

namespace s0::cli {

// The value is a finite number (any flag of type double).
CLI::Validator finite_number();
// The value is a finite number >= lo.
CLI::Validator at_least(double lo);
// The value is a finite number > lo.
CLI::Validator greater_than(double lo);
// The value is a finite number in [lo, hi].
CLI::Validator between(double lo, double hi);
// The value is a decimal integer in [0, 2^64 - 1]: no sign, nothing clamped or wrapped.
CLI::Validator unsigned_64();

// Attaches finite_number() to every floating-point option of `app` and unsigned_64() to every
// unsigned one (CLI11's own conversion accepts "nan" and wraps "-1").
void guard_numeric_options(CLI::App& app);

}  // namespace s0::cli
