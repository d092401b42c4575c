// NumPy .npy / .npz input and output for float64 arrays, so reference solutions and results open in numpy.
// .npy: format 1.0 written (1.0, 2.0 and 3.0 read), dtype '<f8' only, C order, any number of dimensions;
// data is row-major (last index fastest). .npz: an uncompressed (STORED) zip of NAME.npy entries, CRC32 set.
// Writers go through a temporary file in the target's folder, fsync it and rename it over the target, so a
// reader never sees half a file. Readers check the header and that the file's size matches the shape before
// allocating anything, and throw jetpinn::Error saying what they found and what they expected.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace jetpinn {

struct NpyArray {
  std::vector<std::size_t> shape;  // empty shape: a 0-d array holding one value
  std::vector<double> data;        // row-major, product(shape) values
  bool operator==(const NpyArray&) const = default;
};

// Number of values an array of this shape holds (1 for the empty shape); throws if the product overflows.
std::size_t npy_element_count(const std::vector<std::size_t>& shape);

void write_npy(const std::string& path, const std::vector<std::size_t>& shape, const double* data);
inline void write_npy(const std::string& path, const NpyArray& array) { write_npy(path, array.shape, array.data.data()); }
NpyArray read_npy(const std::string& path);

// Entry names become NAME.npy inside the archive (numpy's np.load(path)[NAME]); names must be non-empty,
// unique, and free of '/', '\\' and control characters.
using NamedArrays = std::vector<std::pair<std::string, NpyArray>>;  // an .npz's entries, in order
void write_npz(const std::string& path, const NamedArrays& arrays);
// Reads archives of STORED entries (what write_npz and numpy's np.savez write), in archive order.
NamedArrays read_npz(const std::string& path);

// Zip's CRC-32 (reflected polynomial 0xEDB88320) of n bytes, continuing from crc (0 to start).
std::uint32_t crc32_update(std::uint32_t crc, const void* data, std::size_t n);

}  // namespace jetpinn
