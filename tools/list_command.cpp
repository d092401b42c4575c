// `jetpinn list` (see list_command.h). One line per key: "key = value", its description, its allowed values in
// brackets; descriptions and ranges come from the option table (options.h) and the problem's pde_help.
#include "list_command.h"

#include <algorithm>
#include <vector>

#include "check.h"
#include "config.h"
#include "options.h"

namespace jetpinn {

namespace {

struct Row {
  std::string key_value, help, allowed;
  bool changed = false;  // by the preset
};

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

void print_rows(const std::vector<Row>& rows, std::ostream& out) {
  std::size_t width = 0;
  for (const Row& r : rows) width = std::max(width, r.key_value.size());
  width = std::min<std::size_t>(width, 44);
  for (const Row& r : rows) {
    out << (r.changed ? "* " : "  ") << r.key_value;
    out << std::string(r.key_value.size() < width ? width - r.key_value.size() : 0, ' ') << "  " << r.help << " ["
        << r.allowed << "]\n";
  }
}

void describe_problem(const ProblemInfo& p, std::ostream& out) {
  out << p.name << ": " << p.description << "\n  inputs:";
  for (const auto& i : p.inputs) out << " " << i;
  out << "; outputs:";
  for (const auto& o : p.outputs) out << " " << o;
  if (!p.derived.empty()) {
    out << "; derived:";
    for (const auto& d : p.derived) out << " " << d;
  }
  out << "\n  presets:";
  for (const auto& kv : p.presets) out << " " << kv.first;
  out << "\n  pde parameters:";
  for (auto it = p.pde.begin(); it != p.pde.end(); ++it) out << " " << it.key() << " = " << dump(it.value());
  out << "\n";
}

// The rows of a resolved configuration, in the option table's order; pde.* and loss.weights.* expanded.
std::vector<Row> resolved_rows(const ProblemInfo& info, const Json& cfg, const Json& before) {
  std::vector<Row> rows;
  auto add = [&](const std::string& key, const Json& value, const Json& old, const OptionSpec& spec) {
    Row r{key + " = " + dump(value), spec.help, spec.allowed_text(), value != old};
    if (r.changed) r.key_value += " (was " + dump(old) + ")";
    rows.push_back(std::move(r));
  };
  for (const OptionSpec& spec : option_specs()) {
    const Json& value = option_value(cfg, spec.key);
    const Json& old = option_value(before, spec.key);
    if (spec.key == "pde" || spec.key == "loss.weights") {
      for (auto it = value.begin(); it != value.end(); ++it) {
        const std::string name = it.key();
        OptionSpec entry{spec.key + "." + name, it.value(), any_value(), "(no description)"};
        if (spec.key == "loss.weights") {
          entry.allowed = spec.allowed;
          entry.help = "weight of the loss term '" + name + "'";
        } else if (auto h = info.pde_help.find(name); h != info.pde_help.end()) {
          entry.help = h->second;
        }
        add(entry.key, it.value(), old.contains(name) ? old.at(name) : Json(), entry);
      }
    } else {
      add(spec.key, value, old, spec);
    }
  }
  return rows;
}

}  // namespace

int run_list(const ListArgs& a, std::ostream& out) {
  if (a.problem.empty()) {
    JETPINN_CHECK(a.preset.empty(), "list --preset needs a PROBLEM: jetpinn list PROBLEM --preset " << a.preset);
    for (const ProblemInfo& p : problems()) describe_problem(p, out);
    out << "\noptions (--set key=value): the common defaults, before a problem's own and its preset's changes\n"
        << "(`jetpinn list PROBLEM [--preset P]` shows one problem's)\n";
    std::vector<Row> rows;
    for (const OptionSpec& spec : option_specs()) rows.push_back({spec.key + " = " + dump(spec.value), spec.help, spec.allowed_text()});
    print_rows(rows, out);
    return 0;
  }
  const ProblemInfo& info = find_problem(a.problem);
  describe_problem(info, out);
  const Json before = resolve_config(info, "", nullptr, {});
  const Json cfg = a.preset.empty() ? before : resolve_config(info, a.preset, nullptr, {});
  out << "\noptions (--set key=value) of " << info.name;
  if (a.preset.empty()) out << " without a preset:\n";
  else out << " with preset '" << a.preset << "'; * marks what the preset changed:\n";
  print_rows(resolved_rows(info, cfg, before), out);
  return 0;
}

}  // namespace jetpinn
