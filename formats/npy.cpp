// .npy / .npz reading and writing (see npy.h). Byte layouts follow numpy's format spec (NEP 1) and PKWARE's
// APPNOTE for the zip container: all integers little-endian; a .npy file is magic "\x93NUMPY", version bytes,
// a header length, a Python-literal dict padded with spaces and '\n' to a multiple of 64 bytes, then the data.
#include "npy.h"

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "atomic_file.h"
#include "check.h"

namespace jetpinn {

static_assert(std::endian::native == std::endian::little,
              "npy.cpp writes the host's doubles as '<f8' bytes; a big-endian host would need byte swaps");

namespace {

constexpr char NPY_MAGIC[] = "\x93NUMPY";
constexpr std::size_t NPY_MAGIC_LEN = 6;
constexpr std::size_t NPY_ALIGN = 64;  // numpy pads the header so the data starts on a 64-byte boundary

// ---------------------------------------------------------------------------------------------------------------
// Header writing and parsing.

std::string shape_tuple(const std::vector<std::size_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";  // Python's one-element tuple
  return s + ")";
}

// The full .npy header: magic, version 1.0, header length, dict, padding. Its size is a multiple of 64.
std::string npy_header(const std::vector<std::size_t>& shape) {
  std::string dict = "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape_tuple(shape) + ", }";
  const std::size_t unpadded = NPY_MAGIC_LEN + 2 + 2 + dict.size() + 1;  // +1 for the closing '\n'
  dict.append((NPY_ALIGN - unpadded % NPY_ALIGN) % NPY_ALIGN, ' ');
  dict += '\n';
  JETPINN_CHECK(dict.size() <= 0xFFFF, "npy header of " << dict.size() << " bytes does not fit format 1.0 (at most 65535); "
                                        "the shape has " << shape.size() << " dimensions");
  std::string out(NPY_MAGIC, NPY_MAGIC_LEN);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xFF);
  out += static_cast<char>((dict.size() >> 8) & 0xFF);
  return out + dict;
}

// A cursor over the header dict, which is a Python literal: {'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }
class DictParser {
 public:
  DictParser(std::string text, const std::string& where) : m_text(std::move(text)), m_where(where) {}

  void skip_space() {
    while (m_pos < m_text.size() && (m_text[m_pos] == ' ' || m_text[m_pos] == '\t' || m_text[m_pos] == '\n' ||
                                     m_text[m_pos] == '\r'))
      ++m_pos;
  }
  bool accept(char c) {
    skip_space();
    if (m_pos < m_text.size() && m_text[m_pos] == c) {
      ++m_pos;
      return true;
    }
    return false;
  }
  void expect(char c) {
    JETPINN_CHECK(accept(c), m_where << ": malformed npy header: expected '" << c << "' at byte " << m_pos
                                     << " of the dict \"" << m_text << "\"");
  }
  std::string string_literal() {
    skip_space();
    JETPINN_CHECK(m_pos < m_text.size() && (m_text[m_pos] == '\'' || m_text[m_pos] == '"'),
                  m_where << ": malformed npy header: expected a quoted string at byte " << m_pos << " of \"" << m_text
                          << "\"");
    const char quote = m_text[m_pos++];
    const std::size_t end = m_text.find(quote, m_pos);
    JETPINN_CHECK(end != std::string::npos, m_where << ": malformed npy header: unterminated string in \"" << m_text << "\"");
    std::string s = m_text.substr(m_pos, end - m_pos);
    m_pos = end + 1;
    return s;
  }
  bool boolean() {
    skip_space();
    for (const auto& [word, value] : {std::pair<const char*, bool>{"True", true}, {"False", false}}) {
      const std::size_t n = std::strlen(word);
      if (m_text.compare(m_pos, n, word) == 0) {
        m_pos += n;
        return value;
      }
    }
    JETPINN_CHECK(false, m_where << ": malformed npy header: expected True or False at byte " << m_pos << " of \""
                                 << m_text << "\"");
    return false;
  }
  std::vector<std::size_t> tuple_of_sizes() {
    expect('(');
    std::vector<std::size_t> shape;
    while (!accept(')')) {
      skip_space();
      std::size_t value = 0;
      std::size_t digits = 0;
      while (m_pos < m_text.size() && m_text[m_pos] >= '0' && m_text[m_pos] <= '9') {
        const std::size_t d = static_cast<std::size_t>(m_text[m_pos] - '0');
        JETPINN_CHECK(value <= (std::numeric_limits<std::size_t>::max() - d) / 10,
                      m_where << ": npy shape entry overflows in \"" << m_text << "\"");
        value = value * 10 + d;
        ++m_pos, ++digits;
      }
      JETPINN_CHECK(digits > 0, m_where << ": malformed npy header: expected a non-negative integer in the shape at byte "
                                        << m_pos << " of \"" << m_text << "\"");
      if (m_pos < m_text.size() && m_text[m_pos] == 'L') ++m_pos;  // Python 2 long suffix
      shape.push_back(value);
      if (!accept(',')) {
        expect(')');
        break;
      }
    }
    return shape;
  }

 private:
  std::string m_text;
  std::string m_where;
  std::size_t m_pos = 0;
};

struct NpyHeader {
  std::vector<std::size_t> shape;
  std::size_t data_offset = 0;  // bytes from the start of the .npy payload to the first value
};

// Parses and validates the header found in bytes[0, available); payload_size is the size of the whole .npy
// payload (file or archive entry), checked against the shape before anyone allocates for the data.
NpyHeader parse_npy_header(const unsigned char* bytes, std::size_t available, std::size_t payload_size,
                           const std::string& where) {
  JETPINN_CHECK(available >= NPY_MAGIC_LEN + 2 && std::memcmp(bytes, NPY_MAGIC, NPY_MAGIC_LEN) == 0,
                where << ": not a .npy file (expected the magic \"\\x93NUMPY\" in the first 6 bytes)");
  const int major = bytes[6];
  const int minor = bytes[7];
  JETPINN_CHECK((major >= 1 && major <= 3) && minor == 0,
                where << ": unsupported .npy format version " << major << "." << minor << " (expected 1.0, 2.0 or 3.0)");
  const std::size_t len_bytes = major == 1 ? 2 : 4;
  const std::size_t prefix = NPY_MAGIC_LEN + 2 + len_bytes;
  JETPINN_CHECK(available >= prefix, where << ": .npy file ends inside its header length field");
  std::size_t header_len = 0;
  for (std::size_t i = 0; i < len_bytes; ++i) header_len |= static_cast<std::size_t>(bytes[8 + i]) << (8 * i);
  JETPINN_CHECK(available >= prefix + header_len, where << ": .npy file of " << payload_size
                                                        << " bytes ends inside its header, which claims " << header_len
                                                        << " bytes after the first " << prefix);
  DictParser p(std::string(reinterpret_cast<const char*>(bytes + prefix), header_len), where);
  p.expect('{');
  bool have_descr = false, have_order = false, have_shape = false;
  NpyHeader h;
  while (!p.accept('}')) {
    const std::string key = p.string_literal();
    p.expect(':');
    if (key == "descr") {
      const std::string descr = p.string_literal();
      JETPINN_CHECK(descr == "<f8", where << ": .npy dtype '" << descr
                                          << "' is not supported (expected '<f8', little-endian float64)");
      have_descr = true;
    } else if (key == "fortran_order") {
      JETPINN_CHECK(!p.boolean(), where << ": .npy array is in Fortran order (expected fortran_order False, C order)");
      have_order = true;
    } else if (key == "shape") {
      h.shape = p.tuple_of_sizes();
      have_shape = true;
    } else {
      JETPINN_CHECK(false, where << ": unexpected key '" << key << "' in the .npy header (expected descr, fortran_order, shape)");
    }
    if (!p.accept(',')) {
      p.expect('}');
      break;
    }
  }
  JETPINN_CHECK(have_descr && have_order && have_shape,
                where << ": .npy header lacks " << (!have_descr ? "descr" : !have_order ? "fortran_order" : "shape")
                      << " (expected the keys descr, fortran_order and shape)");
  h.data_offset = prefix + header_len;
  const std::size_t count = npy_element_count(h.shape);
  JETPINN_CHECK(count <= (std::numeric_limits<std::size_t>::max() - h.data_offset) / sizeof(double),
                where << ": .npy shape " << shape_tuple(h.shape) << " is too large to address");
  const std::size_t expected = h.data_offset + count * sizeof(double);
  JETPINN_CHECK(payload_size == expected,
                where << ": .npy payload is " << payload_size << " bytes, but a header of " << h.data_offset
                      << " bytes and shape " << shape_tuple(h.shape) << " (" << count << " float64 values) need exactly "
                      << expected << (payload_size < expected ? " (truncated?)" : " (trailing bytes?)"));
  return h;
}

// ---------------------------------------------------------------------------------------------------------------
// Zip pieces: CRC-32 (polynomial 0xEDB88320, reflected, as zip and zlib use) and little-endian fields.

}  // namespace

std::uint32_t crc32_update(std::uint32_t crc, const void* data, std::size_t n) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1U) ? 0xEDB88320U ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (std::size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFFU] ^ (crc >> 8);
  return ~crc;
}

namespace {

void put16(std::string& s, std::uint32_t v) {
  s += static_cast<char>(v & 0xFF);
  s += static_cast<char>((v >> 8) & 0xFF);
}
void put32(std::string& s, std::uint32_t v) {
  put16(s, v & 0xFFFF);
  put16(s, v >> 16);
}
std::uint64_t get_le(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}

constexpr std::uint32_t ZIP_LOCAL_SIG = 0x04034b50, ZIP_CENTRAL_SIG = 0x02014b50, ZIP_END_SIG = 0x06054b50;
constexpr std::uint32_t ZIP64_END_SIG = 0x06064b50, ZIP64_LOCATOR_SIG = 0x07064b50;
constexpr std::uint32_t ZIP_DOS_DATE = (0 << 9) | (1 << 5) | 1;  // 1980-01-01, fixed so archives are reproducible
constexpr std::uint64_t ZIP32_MAX = 0xFFFFFFFFULL;

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  JETPINN_CHECK(in, "cannot open " << path << " for reading");
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  JETPINN_CHECK(!ec, "cannot read the size of " << path << ": " << ec.message());
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  JETPINN_CHECK(in.gcount() == static_cast<std::streamsize>(size), "short read of " << path);
  return bytes;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------

std::size_t npy_element_count(const std::vector<std::size_t>& shape) {
  std::size_t count = 1;
  for (const std::size_t d : shape) {
    JETPINN_CHECK(d == 0 || count <= std::numeric_limits<std::size_t>::max() / d,
                  "array shape " << shape_tuple(shape) << " overflows the element count");
    count *= d;
  }
  return count;
}

void write_npy(const std::string& path, const std::vector<std::size_t>& shape, const double* data) {
  const std::size_t count = npy_element_count(shape);
  JETPINN_CHECK(data != nullptr || count == 0, "write_npy(" << path << "): null data for shape " << shape_tuple(shape));
  const std::string header = npy_header(shape);
  AtomicFile file(path);
  file.write(header.data(), header.size());
  file.write(data, count * sizeof(double));
  file.commit();
}

NpyArray read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  JETPINN_CHECK(in, "cannot open " << path << " for reading");
  std::error_code ec;
  const std::size_t file_size = static_cast<std::size_t>(std::filesystem::file_size(path, ec));
  JETPINN_CHECK(!ec, "cannot read the size of " << path << ": " << ec.message());
  // Read the fixed prefix, then as much header as it announces (at most 4 GiB for version 2.0, but never more
  // than the file holds), then validate before allocating for the data.
  std::string head(std::min<std::size_t>(file_size, 12), '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  if (head.size() >= 12 && std::memcmp(head.data(), NPY_MAGIC, NPY_MAGIC_LEN) == 0) {
    const auto* b = reinterpret_cast<const unsigned char*>(head.data());
    const std::size_t len = b[6] == 1 ? 10 + get_le(b + 8, 2) : 12 + get_le(b + 8, 4);
    const std::size_t old = head.size();
    head.resize(std::min(len, file_size));
    if (head.size() > old) in.read(head.data() + old, static_cast<std::streamsize>(head.size() - old));
  }
  const NpyHeader h = parse_npy_header(reinterpret_cast<const unsigned char*>(head.data()), head.size(), file_size, path);
  NpyArray out;
  out.shape = h.shape;
  out.data.resize(npy_element_count(h.shape));
  in.seekg(static_cast<std::streamoff>(h.data_offset));
  in.read(reinterpret_cast<char*>(out.data.data()), static_cast<std::streamsize>(out.data.size() * sizeof(double)));
  JETPINN_CHECK(in.gcount() == static_cast<std::streamsize>(out.data.size() * sizeof(double)),
                path << ": short read of the .npy data (file changed while reading?)");
  return out;
}

void write_npz(const std::string& path, const NamedArrays& arrays) {
  JETPINN_CHECK(arrays.size() < 0xFFFF, "write_npz(" << path << "): " << arrays.size() << " entries (at most 65534)");
  for (std::size_t i = 0; i < arrays.size(); ++i) {
    const auto& [name, array] = arrays[i];
    JETPINN_CHECK(!name.empty() && name.size() < 0xFF00, "write_npz(" << path << "): entry " << i << " needs a name");
    for (const char c : name)
      JETPINN_CHECK(c != '/' && c != '\\' && static_cast<unsigned char>(c) >= 0x20,
                    "write_npz(" << path << "): entry name '" << name << "' holds '/', '\\' or a control character");
    for (std::size_t j = 0; j < i; ++j)
      JETPINN_CHECK(arrays[j].first != name, "write_npz(" << path << "): entry name '" << name << "' appears twice");
    JETPINN_CHECK(array.data.size() == npy_element_count(array.shape),
                  "write_npz(" << path << "): entry '" << name << "' has " << array.data.size()
                               << " values but its shape " << shape_tuple(array.shape) << " needs "
                               << npy_element_count(array.shape));
  }

  AtomicFile file(path);
  std::string central;
  for (const auto& [name, array] : arrays) {
    const std::string entry = name + ".npy";
    const std::string header = npy_header(array.shape);
    const std::size_t data_bytes = array.data.size() * sizeof(double);
    const std::uint64_t size = header.size() + data_bytes;
    const std::uint64_t offset = file.written();
    JETPINN_CHECK(size < ZIP32_MAX && offset < ZIP32_MAX,
                  "write_npz(" << path << "): the archive passes 4 GiB at entry '" << name
                               << "', which needs zip64; write separate .npy files instead");
    std::uint32_t crc = crc32_update(0, header.data(), header.size());
    crc = crc32_update(crc, array.data.data(), data_bytes);

    // Shared fields of the local and central headers: version needed 2.0, no flags, STORED, time, date, CRC,
    // sizes, name length.
    std::string common;
    put16(common, 20);
    put16(common, 0);
    put16(common, 0);
    put16(common, 0);
    put16(common, ZIP_DOS_DATE);
    put32(common, crc);
    put32(common, static_cast<std::uint32_t>(size));
    put32(common, static_cast<std::uint32_t>(size));
    put16(common, static_cast<std::uint32_t>(entry.size()));

    std::string local;
    put32(local, ZIP_LOCAL_SIG);
    local += common;
    put16(local, 0);  // extra field length
    local += entry;
    file.write(local.data(), local.size());
    file.write(header.data(), header.size());
    file.write(array.data.data(), data_bytes);

    put32(central, ZIP_CENTRAL_SIG);
    put16(central, 20);  // version made by: 2.0, MS-DOS attribute compatibility
    central += common;
    put16(central, 0);  // extra field length
    put16(central, 0);  // comment length
    put16(central, 0);  // disk number start
    put16(central, 0);  // internal attributes
    put32(central, 0);  // external attributes
    put32(central, static_cast<std::uint32_t>(offset));
    central += entry;
  }
  const std::uint64_t central_offset = file.written();
  JETPINN_CHECK(central_offset + central.size() < ZIP32_MAX,
                "write_npz(" << path << "): the archive passes 4 GiB, which needs zip64; write separate .npy files instead");
  std::string end;
  put32(end, ZIP_END_SIG);
  put16(end, 0);  // this disk
  put16(end, 0);  // disk with the central directory
  put16(end, static_cast<std::uint32_t>(arrays.size()));
  put16(end, static_cast<std::uint32_t>(arrays.size()));
  put32(end, static_cast<std::uint32_t>(central.size()));
  put32(end, static_cast<std::uint32_t>(central_offset));
  put16(end, 0);  // comment length
  file.write(central.data(), central.size());
  file.write(end.data(), end.size());
  file.commit();
}

NamedArrays read_npz(const std::string& path) {
  const std::string bytes = read_whole_file(path);
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();

  // The end-of-central-directory record is the last 22 bytes plus a comment of up to 65535 bytes.
  JETPINN_CHECK(n >= 22, path << ": " << n << " bytes is too short for a zip archive (an .npz needs at least 22)");
  std::size_t end = n - 22;
  while (get_le(b + end, 4) != ZIP_END_SIG) {
    JETPINN_CHECK(end > 0 && n - end < 22 + 0xFFFF, path << ": not a zip archive (no end-of-central-directory record)");
    --end;
  }
  std::uint64_t entries = get_le(b + end + 10, 2);
  std::uint64_t central_size = get_le(b + end + 12, 4);
  std::uint64_t central_offset = get_le(b + end + 16, 4);
  if ((entries == 0xFFFF || central_size == ZIP32_MAX || central_offset == ZIP32_MAX) && end >= 20 &&
      get_le(b + end - 20, 4) == ZIP64_LOCATOR_SIG) {
    const std::uint64_t z64 = get_le(b + end - 20 + 8, 8);
    // Offsets read from the file are compared as n - offset: offset + size could wrap around 2^64.
    JETPINN_CHECK(z64 <= n && n - z64 >= 56 && get_le(b + z64, 4) == ZIP64_END_SIG, path << ": broken zip64 end record");
    entries = get_le(b + z64 + 32, 8);
    central_size = get_le(b + z64 + 40, 8);
    central_offset = get_le(b + z64 + 48, 8);
  }
  JETPINN_CHECK(central_offset <= n && central_size <= n - central_offset,
                path << ": central directory at " << central_offset << " (+" << central_size << " bytes) lies outside the "
                     << n << "-byte file (truncated?)");

  std::vector<std::pair<std::string, NpyArray>> out;
  std::size_t pos = central_offset;
  for (std::uint64_t e = 0; e < entries; ++e) {
    JETPINN_CHECK(pos + 46 <= n && get_le(b + pos, 4) == ZIP_CENTRAL_SIG,
                  path << ": central directory entry " << e << " is damaged");
    const auto method = get_le(b + pos + 10, 2);
    const auto crc = static_cast<std::uint32_t>(get_le(b + pos + 16, 4));
    std::uint64_t csize = get_le(b + pos + 20, 4), usize = get_le(b + pos + 24, 4);
    const std::size_t name_len = get_le(b + pos + 28, 2), extra_len = get_le(b + pos + 30, 2);
    const std::size_t comment_len = get_le(b + pos + 32, 2);
    std::uint64_t local = get_le(b + pos + 42, 4);
    JETPINN_CHECK(pos + 46 + name_len + extra_len + comment_len <= n, path << ": central directory entry " << e << " is cut off");
    std::string name(reinterpret_cast<const char*>(b + pos + 46), name_len);
    JETPINN_CHECK(!name.empty(), path << ": central directory entry " << e << " has no name");
    // zip64 extra field (id 1): 8-byte values for exactly those of usize, csize, offset that read 0xFFFFFFFF.
    const std::size_t extra_end = pos + 46 + name_len + extra_len;
    for (std::size_t x = pos + 46 + name_len; x + 4 <= extra_end;) {
      const auto id = get_le(b + x, 2), len = get_le(b + x + 2, 2);
      JETPINN_CHECK(x + 4 + len <= extra_end, path << ": extra field of entry '" << name << "' runs past its end");
      if (id == 1) {
        std::size_t f = x + 4;
        for (std::uint64_t* field : {&usize, &csize, &local})
          if (*field == ZIP32_MAX && f + 8 <= x + 4 + len) {
            *field = get_le(b + f, 8);
            f += 8;
          }
      }
      x += 4 + len;
    }
    pos += 46 + name_len + extra_len + comment_len;

    JETPINN_CHECK(method == 0, path << ": entry '" << name << "' is compressed (method " << method
                                    << "); read_npz reads STORED entries only (np.savez, not np.savez_compressed)");
    JETPINN_CHECK(csize == usize, path << ": STORED entry '" << name << "' has different stored and original sizes");
    JETPINN_CHECK(local <= n && n - local >= 30 && get_le(b + local, 4) == ZIP_LOCAL_SIG,
                  path << ": local header of entry '" << name << "' is missing (truncated?)");
    const std::uint64_t data = local + 30 + get_le(b + local + 26, 2) + get_le(b + local + 28, 2);
    JETPINN_CHECK(data <= n && csize <= n - data, path << ": entry '" << name << "' needs bytes up to " << data + csize
                                                       << " but the file has " << n << " (truncated?)");
    JETPINN_CHECK(crc32_update(0, b + data, csize) == crc, path << ": CRC-32 mismatch in entry '" << name << "' (damaged file)");

    const std::string where = path + "[" + name + "]";
    const NpyHeader h = parse_npy_header(b + data, csize, csize, where);
    NpyArray array;
    array.shape = h.shape;
    array.data.resize(npy_element_count(h.shape));
    if (!array.data.empty())  // memcpy from/to the null data() of an empty vector is undefined
      std::memcpy(array.data.data(), b + data + h.data_offset, array.data.size() * sizeof(double));
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    out.emplace_back(std::move(name), std::move(array));
  }
  return out;
}

}  // namespace jetpinn
