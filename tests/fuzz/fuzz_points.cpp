// libFuzzer target: the points CSV reader of `jetpinn eval` (tools/points_csv.h) with a two-input problem's
// names. It must return finite points with the right column count, or throw jetpinn::Error.
#include <cmath>
#include <cstdlib>

#include "check.h"
#include "fuzz_input.h"
#include "points_csv.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = jetpinn_fuzz::as_file(data, size);
  try {
    const jetpinn::RowMat<double> p = jetpinn::read_points_csv(path, {"x", "y"});
    if (p.rows() < 1 || p.cols() != 2 || !p.allFinite()) std::abort();
  } catch (const jetpinn::Error&) {
  }
  return 0;
}
