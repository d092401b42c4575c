// Checkpoint layout (little-endian): "JETPINNC" | u32 version | u32 name length | problem name |
// u32 entry count | entries: u32 name length, name, u8 type, u64 count, payload | u64 FNV-1a of all before.
#include "checkpoint.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "atomic_file.h"
#include "check.h"

namespace jetpinn {

namespace {
constexpr char MAGIC[8] = {'J', 'E', 'T', 'P', 'I', 'N', 'N', 'C'};

std::uint64_t fnv1a(const char* p, std::size_t n) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (std::size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(p[i]);
    h *= 0x100000001b3ull;
  }
  return h;
}
template <class U>
void append(std::vector<char>& out, U v) {
  char b[sizeof(U)];
  std::memcpy(b, &v, sizeof(U));
  out.insert(out.end(), b, b + sizeof(U));
}
std::size_t type_size(std::uint8_t t) { return t == 5 ? 1 : (t == 1 ? 4 : 8); }

// Bounds-checked reading of the loaded file.
struct Reader {
  const std::vector<char>& buf;
  std::size_t pos, end;
  const std::string& path;
  template <class U>
  U take(const char* what) {
    JETPINN_CHECK(end - pos >= sizeof(U), "checkpoint " << path << " is truncated (reading " << what << ")");
    U v;
    std::memcpy(&v, buf.data() + pos, sizeof(U));
    pos += sizeof(U);
    return v;
  }
  std::string take_string(const char* what, std::size_t max_len) {
    const auto n = take<std::uint32_t>(what);
    JETPINN_CHECK(n <= max_len && n <= end - pos, "checkpoint " << path << ": " << what << " has an impossible length " << n);
    std::string s(buf.data() + pos, n);
    pos += n;
    return s;
  }
};
}  // namespace

void Checkpoint::put_raw(const std::string& name, Type t, const void* data, std::size_t count, std::size_t size) {
  Entry e{t, count, std::vector<char>(count * size)};
  if (count) std::memcpy(e.bytes.data(), data, count * size);
  m_entries[name] = std::move(e);
}

const Checkpoint::Entry& Checkpoint::entry(const std::string& name, Type t) const {
  auto it = m_entries.find(name);
  JETPINN_CHECK(it != m_entries.end(), "checkpoint has no entry '" << name << "'");
  JETPINN_CHECK(it->second.type == t, "checkpoint entry '" << name << "' has another type than expected (precision mismatch?)");
  return it->second;
}

template <class T>
std::vector<T> Checkpoint::get(const std::string& name) const {
  constexpr Type t = std::is_same_v<T, float> ? F32 : std::is_same_v<T, double> ? F64 : std::is_same_v<T, std::int64_t> ? I64 : U64;
  const Entry& e = entry(name, t);
  std::vector<T> v(e.count);
  if (e.count) std::memcpy(v.data(), e.bytes.data(), e.bytes.size());
  return v;
}

template <class T>
std::vector<T> Checkpoint::get_sized(const std::string& name, std::size_t count) const {
  std::vector<T> v = get<T>(name);
  JETPINN_CHECK(v.size() == count, "checkpoint entry '" << name << "' holds " << v.size() << " values, expected " << count);
  return v;
}

std::string Checkpoint::get_string(const std::string& name) const {
  const Entry& e = entry(name, BYTES);
  return std::string(e.bytes.begin(), e.bytes.end());
}

void Checkpoint::write(const std::string& path) const {
  std::vector<char> out(MAGIC, MAGIC + 8);
  append<std::uint32_t>(out, VERSION);
  append<std::uint32_t>(out, static_cast<std::uint32_t>(m_problem.size()));
  out.insert(out.end(), m_problem.begin(), m_problem.end());
  append<std::uint32_t>(out, static_cast<std::uint32_t>(m_entries.size()));
  for (const auto& [name, e] : m_entries) {
    append<std::uint32_t>(out, static_cast<std::uint32_t>(name.size()));
    out.insert(out.end(), name.begin(), name.end());
    append<std::uint8_t>(out, e.type);
    append<std::uint64_t>(out, e.count);
    out.insert(out.end(), e.bytes.begin(), e.bytes.end());
  }
  append<std::uint64_t>(out, fnv1a(out.data(), out.size()));
  AtomicFile f(path);
  f.write(out.data(), out.size());
  f.commit();
}

Checkpoint Checkpoint::read(const std::string& path, const std::string& expected_problem) {
  std::ifstream in(path, std::ios::binary);
  JETPINN_CHECK(in.good(), "cannot open checkpoint " << path);
  std::vector<char> buf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  JETPINN_CHECK(buf.size() >= 8 + 4 + 4 + 4 + 8 && std::memcmp(buf.data(), MAGIC, 8) == 0,
                "checkpoint " << path << " is not a jetpinn checkpoint (bad magic or too short)");
  std::uint64_t stored;
  std::memcpy(&stored, buf.data() + buf.size() - 8, 8);
  JETPINN_CHECK(stored == fnv1a(buf.data(), buf.size() - 8),
                "checkpoint " << path << " is corrupt or truncated (checksum mismatch)");
  Reader r{buf, 8, buf.size() - 8, path};
  const auto version = r.take<std::uint32_t>("version");
  JETPINN_CHECK(version == VERSION, "checkpoint " << path << " has format version " << version << ", this build reads "
                                                  << VERSION);
  Checkpoint c;
  c.m_problem = r.take_string("problem name", 256);
  JETPINN_CHECK(expected_problem.empty() || c.m_problem == expected_problem,
                "checkpoint " << path << " belongs to problem '" << c.m_problem << "', not '" << expected_problem << "'");
  const auto n = r.take<std::uint32_t>("entry count");
  for (std::uint32_t i = 0; i < n; ++i) {
    std::string name = r.take_string("entry name", 1024);
    JETPINN_CHECK(!c.m_entries.count(name), "checkpoint " << path << ": entry '" << name << "' appears twice");
    const auto type = r.take<std::uint8_t>("entry type");
    JETPINN_CHECK(type >= F32 && type <= BYTES, "checkpoint " << path << ": entry '" << name << "' has unknown type " << int(type));
    const auto count = r.take<std::uint64_t>("entry size");
    JETPINN_CHECK(count <= (r.end - r.pos) / type_size(type),
                  "checkpoint " << path << ": entry '" << name << "' claims " << count << " values, more than the file holds");
    const std::size_t bytes = static_cast<std::size_t>(count) * type_size(type);
    Entry e{static_cast<Type>(type), static_cast<std::size_t>(count), std::vector<char>(buf.begin() + static_cast<std::ptrdiff_t>(r.pos),
                                                                         buf.begin() + static_cast<std::ptrdiff_t>(r.pos + bytes))};
    r.pos += bytes;
    c.m_entries[name] = std::move(e);
  }
  JETPINN_CHECK(r.pos == r.end, "checkpoint " << path << " has " << (r.end - r.pos) << " unexplained trailing bytes");
  return c;
}

template std::vector<float> Checkpoint::get<float>(const std::string&) const;
template std::vector<double> Checkpoint::get<double>(const std::string&) const;
template std::vector<std::int64_t> Checkpoint::get<std::int64_t>(const std::string&) const;
template std::vector<std::uint64_t> Checkpoint::get<std::uint64_t>(const std::string&) const;
template std::vector<float> Checkpoint::get_sized<float>(const std::string&, std::size_t) const;
template std::vector<double> Checkpoint::get_sized<double>(const std::string&, std::size_t) const;
template std::vector<std::int64_t> Checkpoint::get_sized<std::int64_t>(const std::string&, std::size_t) const;
template std::vector<std::uint64_t> Checkpoint::get_sized<std::uint64_t>(const std::string&, std::size_t) const;

}  // namespace jetpinn
