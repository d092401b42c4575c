// Checkpoint files: named arrays (float32, float64, int64, uint64, bytes) behind a magic number, a format
// version and the problem's name, closed by a 64-bit FNV-1a checksum of everything before it.
// Written atomically (temporary file, fsync, rename, fsync of the folder). read() loads the file, checks the
// checksum, then every size against the bytes that remain before it allocates, and names what is wrong.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace jetpinn {

class Checkpoint {
 public:
  static constexpr std::uint32_t VERSION = 1;

  void set_problem(std::string name) { m_problem = std::move(name); }
  const std::string& problem() const { return m_problem; }

  void put(const std::string& name, const std::vector<float>& v) { put_raw(name, F32, v.data(), v.size(), 4); }
  void put(const std::string& name, const std::vector<double>& v) { put_raw(name, F64, v.data(), v.size(), 8); }
  void put(const std::string& name, const std::vector<std::int64_t>& v) { put_raw(name, I64, v.data(), v.size(), 8); }
  void put(const std::string& name, const std::vector<std::uint64_t>& v) { put_raw(name, U64, v.data(), v.size(), 8); }
  void put_string(const std::string& name, const std::string& s) { put_raw(name, BYTES, s.data(), s.size(), 1); }

  bool has(const std::string& name) const { return m_entries.count(name) > 0; }
  template <class T>
  std::vector<T> get(const std::string& name) const;
  std::string get_string(const std::string& name) const;
  // Entry that must hold exactly `count` values (a shape check with a clear message).
  template <class T>
  std::vector<T> get_sized(const std::string& name, std::size_t count) const;

  void write(const std::string& path) const;
  // Throws when the file is missing, truncated, corrupt, of another version, or (if expected_problem is not
  // empty) of another problem.
  static Checkpoint read(const std::string& path, const std::string& expected_problem = "");

 private:
  enum Type : std::uint8_t { F32 = 1, F64 = 2, I64 = 3, U64 = 4, BYTES = 5 };
  struct Entry {
    Type type;
    std::size_t count;
    std::vector<char> bytes;
  };
  std::string m_problem;
  std::map<std::string, Entry> m_entries;
  void put_raw(const std::string& name, Type t, const void* data, std::size_t count, std::size_t size);
  const Entry& entry(const std::string& name, Type t) const;
};

}  // namespace jetpinn
