// Points CSV reading (see points_csv.h).
#include "points_csv.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "check.h"

namespace jetpinn {

std::vector<std::string> split_fields(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string part; std::getline(ss, part, sep);) {
    const auto b = part.find_first_not_of(" \t\r"), e = part.find_last_not_of(" \t\r");
    out.push_back(b == std::string::npos ? "" : part.substr(b, e - b + 1));
  }
  return out;
}

RowMat<double> read_points_csv(const std::string& path, const std::vector<std::string>& inputs) {
  JETPINN_CHECK(!inputs.empty(), "read_points_csv needs at least one input name");
  std::ifstream in(path);
  JETPINN_CHECK(in.good(), "cannot read points file '" << path << "'");
  std::string line;
  JETPINN_CHECK(std::getline(in, line), "points file '" << path << "' is empty; it needs a header naming the inputs");
  const std::vector<std::string> header = split_fields(line, ',');
  std::vector<std::size_t> col;
  for (const auto& name : inputs) {
    std::size_t c = 0;
    while (c < header.size() && header[c] != name) ++c;
    JETPINN_CHECK(c < header.size(), "points file '" << path << "': the header '" << line << "' has no column '" << name
                                                     << "' (the problem's inputs are needed by name)");
    col.push_back(c);
  }
  std::vector<double> values;
  long row = 1;
  while (std::getline(in, line)) {
    ++row;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::vector<std::string> cells = split_fields(line, ',');
    JETPINN_CHECK(cells.size() == header.size(), "points file '" << path << "' line " << row << ": " << cells.size()
                                                                 << " fields, the header has " << header.size());
    for (std::size_t c : col) {
      std::size_t used = 0;
      double v = 0;
      try {
        v = std::stod(cells[c], &used);
      } catch (const std::exception&) {
        used = 0;
      }
      JETPINN_CHECK(used == cells[c].size() && used > 0 && std::isfinite(v),
                    "points file '" << path << "' line " << row << ": '" << cells[c] << "' is not a finite number");
      values.push_back(v);
    }
  }
  const Index n = static_cast<Index>(values.size() / inputs.size());
  JETPINN_CHECK(n > 0, "points file '" << path << "' has no points");
  return Eigen::Map<RowMat<double>>(values.data(), n, static_cast<Index>(inputs.size()));
}

}  // namespace jetpinn
