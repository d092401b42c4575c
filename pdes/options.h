// The option table: every configuration key with its default, a one-line description and its allowed values,
// written once. common_defaults() is built from it, validate_config() checks every value against it, and
// `jetpinn list` prints it. Keys that depend on the problem (pde.*, loss.weights.<term>) are one entry each
// here (an object) and are described by the problem (ProblemInfo::pde_help) or by their term name.
#pragma once
#include <limits>
#include <string>
#include <vector>

#include "problem.h"

namespace jetpinn {

// What a key accepts beyond its JSON type: a string one of `choices` (empty: any), a number (or each entry of an
// array) within [lo, hi], either end open.
struct Allowed {
  std::vector<std::string> choices;
  double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
  bool lo_open = false, hi_open = false;
};
Allowed any_value();
Allowed one_of(std::vector<std::string> choices);
Allowed at_least(double lo);  // [lo, inf)
Allowed above(double lo);     // (lo, inf)
Allowed between(double lo, double hi, bool lo_open = false, bool hi_open = false);

struct OptionSpec {
  std::string key;   // dotted, e.g. "net.width"
  Json value;        // the default; its JSON type is the key's type
  Allowed allowed;
  std::string help;  // one line: what the key does
  // The allowed values in words: "tanh | sin | cos", ">= 1", "in [0, 1)", "true | false", "any text".
  std::string allowed_text() const;
  // Throws one line naming the key, what it accepts and the value given, when `v` is outside `allowed`.
  void check(const Json& v) const;
};

// Every key of the common defaults, in the order `jetpinn list` shows them.
const std::vector<OptionSpec>& option_specs();
// The entry of `key`, or nullptr.
const OptionSpec* find_option(const std::string& key);
// The value of dotted `key` in a configuration (throws Json::out_of_range when it is missing).
const Json& option_value(const Json& cfg, const std::string& key);

}  // namespace jetpinn
