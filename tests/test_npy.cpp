// Tests of the .npy / .npz reader and writer: exact round trips (bit for bit, NaN and -0 included), numpy's
// header layout, and rejection of damaged files (truncated, bad magic, wrong dtype or order, CRC mismatch).
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "check.h"
#include "npy.h"
#include "temp_dir.h"

using jetpinn::NpyArray;

namespace {

NpyArray ramp(std::vector<std::size_t> shape) {
  NpyArray a;
  a.shape = std::move(shape);
  a.data.resize(jetpinn::npy_element_count(a.shape));
  for (std::size_t i = 0; i < a.data.size(); ++i) a.data[i] = 0.1 * static_cast<double>(i) - 1.0 / 3.0;
  return a;
}

bool same_bits(const NpyArray& a, const NpyArray& b) {
  return a.shape == b.shape && a.data.size() == b.data.size() &&
         (a.data.empty() || std::memcmp(a.data.data(), b.data.data(), a.data.size() * sizeof(double)) == 0);
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void put_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// A .npy file with a hand-written header dict (padded as numpy pads) followed by `values` float64 zeros.
std::string handmade_npy(const std::string& dict, std::size_t values) {
  std::string h = dict;
  while ((10 + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(h.size() & 0xFF);
  out += static_cast<char>(h.size() >> 8);
  return out + h + std::string(values * 8, '\0');
}

}  // namespace

TEST_CASE("npy: round trip of float64 arrays of 0 to 3 dimensions bit for bit") {
  TempDir dir("npy");
  for (const auto& shape : std::vector<std::vector<std::size_t>>{{}, {0}, {7}, {2, 3}, {4, 1, 5}, {3, 0, 2}}) {
    NpyArray a = ramp(shape);
    if (a.data.size() >= 3) {  // values a text format would mangle
      a.data[0] = -0.0;
      a.data[1] = std::numeric_limits<double>::quiet_NaN();
      a.data[2] = -std::numeric_limits<double>::infinity();
    }
    const std::string path = dir.file("a.npy");
    jetpinn::write_npy(path, a);
    const NpyArray b = jetpinn::read_npy(path);
    CHECK(same_bits(a, b));
    // numpy aligns the data to 64 bytes; the file is header + 8 bytes per value and nothing else.
    CHECK((std::filesystem::file_size(path) - 8 * a.data.size()) % 64 == 0);
  }
  // No temporary file is left beside the target.
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path), std::filesystem::directory_iterator{}) == 1);
}

TEST_CASE("npy: header is byte for byte what numpy writes") {
  TempDir dir("npy");
  const std::string path = dir.file("h.npy");
  NpyArray a = ramp({2, 3});
  jetpinn::write_npy(path, a);
  // np.save of a (2, 3) float64 array writes exactly this 128-byte header (numpy 1.x and 2.x, format 1.0).
  const std::string expected = handmade_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 0);
  const std::string bytes = file_bytes(path);
  REQUIRE(bytes.size() == 128 + 6 * 8);
  CHECK(bytes.substr(0, 128) == expected);
  // One-dimensional shapes are written as Python's one-element tuple "(7,)".
  jetpinn::write_npy(path, ramp({7}));
  CHECK(file_bytes(path).find("'shape': (7,), }") != std::string::npos);
  // A header numpy could also write: other key order, double quotes, no trailing comma, version 1.0.
  put_bytes(path, handmade_npy("{\"shape\": (3,), \"fortran_order\": False, \"descr\": \"<f8\"}", 3));
  const NpyArray b = jetpinn::read_npy(path);
  CHECK(b.shape == std::vector<std::size_t>{3});
  CHECK(b.data == std::vector<double>{0, 0, 0});
}

TEST_CASE("npy: damaged or unsupported files are rejected with a message") {
  TempDir dir("npy");
  const std::string path = dir.file("bad.npy");
  jetpinn::write_npy(path, ramp({4, 5}));
  const std::string good = file_bytes(path);

  put_bytes(path, good.substr(0, good.size() - 1));  // one byte short
  CHECK_THROWS_WITH_AS(jetpinn::read_npy(path), doctest::Contains("truncated"), jetpinn::Error);
  put_bytes(path, good.substr(0, 40));  // cut inside the header
  CHECK_THROWS_AS(jetpinn::read_npy(path), jetpinn::Error);
  put_bytes(path, good + std::string(8, '\0'));  // one value too many
  CHECK_THROWS_WITH_AS(jetpinn::read_npy(path), doctest::Contains("trailing"), jetpinn::Error);

  std::string bad_magic = good;
  bad_magic[1] = 'X';
  put_bytes(path, bad_magic);
  CHECK_THROWS_WITH_AS(jetpinn::read_npy(path), doctest::Contains("magic"), jetpinn::Error);
  put_bytes(path, "");
  CHECK_THROWS_WITH_AS(jetpinn::read_npy(path), doctest::Contains("magic"), jetpinn::Error);

  std::string bad_version = good;
  bad_version[6] = 9;
  put_bytes(path, bad_version);
  CHECK_THROWS_WITH_AS(jetpinn::read_npy(path), doctest::Contains("version"), jetpinn::Error);

  put_bytes(path, handmade_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 1));
  CHECK_THROWS_WITH_AS(jetpinn::read_npy(path), doctest::Contains("'<f4'"), jetpinn::Error);
  put_bytes(path, handmade_npy("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", 2));
  CHECK_THROWS_WITH_AS(jetpinn::read_npy(path), doctest::Contains("'>f8'"), jetpinn::Error);
  put_bytes(path, handmade_npy("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }", 4));
  CHECK_THROWS_WITH_AS(jetpinn::read_npy(path), doctest::Contains("Fortran"), jetpinn::Error);
  put_bytes(path, handmade_npy("{'descr': '<f8', 'fortran_order': False}", 0));
  CHECK_THROWS_WITH_AS(jetpinn::read_npy(path), doctest::Contains("shape"), jetpinn::Error);
  put_bytes(path, handmade_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, x), }", 2));
  CHECK_THROWS_WITH_AS(jetpinn::read_npy(path), doctest::Contains("malformed"), jetpinn::Error);
  // A huge shape in a tiny file fails on the size check, before any allocation is attempted.
  put_bytes(path, handmade_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 1000), }", 0));
  CHECK_THROWS_AS(jetpinn::read_npy(path), jetpinn::Error);
  CHECK_THROWS_AS(jetpinn::read_npy(dir.file("missing.npy")), jetpinn::Error);
}

TEST_CASE("npy: npz archive round trip with CRC-32 and damage detection") {
  // The CRC-32 check value of the ASCII string "123456789" (the standard check for this polynomial).
  CHECK(jetpinn::crc32_update(0, "123456789", 9) == 0xCBF43926U);
  CHECK(jetpinn::crc32_update(jetpinn::crc32_update(0, "1234", 4), "56789", 5) == 0xCBF43926U);

  TempDir dir("npz");
  const std::string path = dir.file("set.npz");
  const std::vector<std::pair<std::string, NpyArray>> arrays = {
      {"u", ramp({3, 4})}, {"x", ramp({4})}, {"t", ramp({3})}, {"scalar", ramp({})}, {"empty", ramp({0, 2})}};
  jetpinn::write_npz(path, arrays);
  const auto back = jetpinn::read_npz(path);
  REQUIRE(back.size() == arrays.size());
  for (std::size_t i = 0; i < arrays.size(); ++i) {
    CHECK(back[i].first == arrays[i].first);
    CHECK(same_bits(back[i].second, arrays[i].second));
  }
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path), std::filesystem::directory_iterator{}) == 1);

  const std::string good = file_bytes(path);
  std::string flipped = good;
  flipped[30 + 5 + 128 + 3] ^= 0x10;  // a data byte of the first entry ("u.npy": 30-byte header, name, npy header)
  put_bytes(path, flipped);
  CHECK_THROWS_WITH_AS(jetpinn::read_npz(path), doctest::Contains("CRC"), jetpinn::Error);
  put_bytes(path, good.substr(0, good.size() - 30));
  CHECK_THROWS_AS(jetpinn::read_npz(path), jetpinn::Error);
  put_bytes(path, "PK not really a zip");
  CHECK_THROWS_AS(jetpinn::read_npz(path), jetpinn::Error);

  CHECK_THROWS_AS(jetpinn::write_npz(path, {{"a", ramp({2})}, {"a", ramp({2})}}), jetpinn::Error);
  CHECK_THROWS_AS(jetpinn::write_npz(path, {{"a/b", ramp({2})}}), jetpinn::Error);
  NpyArray inconsistent = ramp({2, 2});
  inconsistent.data.pop_back();
  CHECK_THROWS_AS(jetpinn::write_npz(path, {{"a", inconsistent}}), jetpinn::Error);
}

namespace {
void put_le(std::string& s, std::size_t at, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
std::uint64_t get_le(const std::string& s, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + static_cast<std::size_t>(i)]);
  return v;
}
// A one-entry archive from write_npz with `extra` appended to its central-directory entry (the extra-field length
// and the central-directory size updated) and the entry's local-header offset field set to `local_field`.
std::string with_central_extra(std::string npz, std::uint32_t local_field, const std::string& extra) {
  const std::size_t end = npz.size() - 22;  // no archive comment
  const std::size_t central = get_le(npz, end + 16, 4);
  const std::size_t name_len = get_le(npz, central + 28, 2);
  put_le(npz, central + 30, extra.size(), 2);
  put_le(npz, central + 42, local_field, 4);
  npz.insert(central + 46 + name_len, extra);
  put_le(npz, end + extra.size() + 12, get_le(npz, end + extra.size() + 12, 4) + extra.size(), 4);
  return npz;
}
std::string zip64_offset_field(std::uint16_t claimed_len, std::uint64_t offset) {
  std::string f(12, '\0');
  put_le(f, 0, 1, 2);  // the zip64 extended-information id
  put_le(f, 2, claimed_len, 2);
  put_le(f, 4, offset, 8);
  return f;
}
}  // namespace

// Offsets come from the file: one near 2^64 must be refused without offset + size wrapping around (a fuzz finding,
// seen as a UBSan pointer overflow in the sanitizer build), and a zip64 field must lie inside its entry's extra area.
TEST_CASE("npy: npz entries with a local-header offset near 2^64 or an extra field past its end are refused") {
  TempDir dir("npz64");
  const std::string path = dir.file("one.npz");
  jetpinn::write_npz(path, {{"u", ramp({3})}});
  const std::string good = file_bytes(path);
  put_bytes(path, with_central_extra(good, 0xFFFFFFFFU, zip64_offset_field(8, 0)));
  CHECK(same_bits(jetpinn::read_npz(path).at(0).second, ramp({3})));  // a well-formed zip64 offset is read
  put_bytes(path, with_central_extra(good, 0xFFFFFFFFU, zip64_offset_field(8, ~std::uint64_t{0} - 15)));
  CHECK_THROWS_WITH_AS(jetpinn::read_npz(path), doctest::Contains("local header"), jetpinn::Error);
  put_bytes(path, with_central_extra(good, 0xFFFFFFFFU, zip64_offset_field(24, 0)));
  CHECK_THROWS_WITH_AS(jetpinn::read_npz(path), doctest::Contains("runs past its end"), jetpinn::Error);
}
