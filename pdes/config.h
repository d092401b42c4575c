// Run configuration: one JSON object, resolved in layers. common defaults <- the problem's overrides <- a
// preset <- a config file <- --set key=value. Every layer may only set keys that exist, with the same type,
// so a typo or a wrong type is one clear error naming the key. validate_config() checks value ranges against
// the option table (options.h), where every key's default, description and allowed values are written.
// Sections: problem, preset, pde (problem parameters), net, points, loss, optim, train.
#pragma once
#include <string>
#include <vector>

#include "problem.h"

namespace jetpinn {

Json common_defaults();
// Merge `patch` into `base`, refusing unknown keys and type changes; `where` names the source in errors.
void apply_patch(Json& base, const Json& patch, const std::string& where);
// "net.width=64" -> {"net": {"width": 64}}; the value is read as JSON when it parses, else as a string.
Json parse_set(const std::string& assignment);
// Reads a JSON file; a missing or malformed file is one error naming it.
Json load_json_file(const std::string& path);
// The fully resolved configuration of a run.
Json resolve_config(const ProblemInfo& problem, const std::string& preset, const Json* file,
                    const std::vector<std::string>& sets);
void validate_config(const Json& cfg);

}  // namespace jetpinn
