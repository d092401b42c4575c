// libFuzzer target: the .npy and .npz readers (formats/npy.h) on arbitrary bytes. Each must return an array whose
// data matches its shape, or throw jetpinn::Error; a crash, sanitizer report or other exception is a finding.
#include <cstdlib>

#include "check.h"
#include "fuzz_input.h"
#include "npy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = jetpinn_fuzz::as_file(data, size);
  try {
    const jetpinn::NpyArray a = jetpinn::read_npy(path);
    if (a.data.size() != jetpinn::npy_element_count(a.shape)) std::abort();
  } catch (const jetpinn::Error&) {
  }
  try {
    for (const auto& [name, a] : jetpinn::read_npz(path))
      if (name.empty() || a.data.size() != jetpinn::npy_element_count(a.shape)) std::abort();
  } catch (const jetpinn::Error&) {
  }
  return 0;
}
