// BlockCache: the bookkeeping of the caching device-memory pool, in plain C++ so the host tests check it with
// malloc standing in for cudaMalloc. Sizes round up to a size class (multiples of 512 B below 4 KiB, then a
// quarter of the power of two: at most 25% waste); a freed block goes to its class's free list and the next
// request of that class reuses it, so a training step that repeats its shapes calls the raw allocator only
// while warming up. Single-threaded by design (one host thread drives one CUDA stream). Not thread-safe.
#pragma once
#include <cstddef>
#include <functional>
#include <map>
#include <unordered_map>
#include <vector>

#include "check.h"

namespace jetpinn::cuda {

class BlockCache {
 public:
  using RawAlloc = std::function<void*(std::size_t)>;  // returns a block or throws
  using RawFree = std::function<void(void*)>;          // must not throw

  struct Stats {
    std::size_t raw_allocs = 0, raw_frees = 0;  // calls to the raw allocator / deallocator
    std::size_t hits = 0;                       // requests served from a free list
    std::size_t live_blocks = 0, live_bytes = 0;  // handed out (class sizes)
    std::size_t cached_blocks = 0, cached_bytes = 0;  // on free lists
  };

  BlockCache(RawAlloc raw_alloc, RawFree raw_free) : m_alloc(std::move(raw_alloc)), m_free(std::move(raw_free)) {}
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;
  // Frees every cached block; blocks still handed out are leaked to the caller (their owner outlived the pool).
  ~BlockCache() { release_cached(); }

  static constexpr std::size_t MIN_BLOCK = 512;

  // The size class of a request: >= bytes, a multiple of 512, at most 25% above bytes once bytes > 2 KiB.
  static std::size_t class_size(std::size_t bytes) {
    if (bytes <= MIN_BLOCK) return MIN_BLOCK;
    if (bytes <= 4096) return (bytes + MIN_BLOCK - 1) / MIN_BLOCK * MIN_BLOCK;
    std::size_t top = 1;
    while ((top << 1) <= bytes) top <<= 1;  // largest power of two <= bytes
    const std::size_t step = top / 4;       // >= 1024 here
    return (bytes + step - 1) / step * step;
  }

  // A block of at least `bytes`; nullptr for 0 bytes. When the raw allocator fails, the cache is released and
  // the request retried once before the failure propagates.
  void* allocate(std::size_t bytes) {
    if (bytes == 0) return nullptr;
    const std::size_t c = class_size(bytes);
    void* p = nullptr;
    auto it = m_free_lists.find(c);
    if (it != m_free_lists.end() && !it->second.empty()) {
      p = it->second.back();
      it->second.pop_back();
      ++m_stats.hits;
      --m_stats.cached_blocks;
      m_stats.cached_bytes -= c;
    } else {
      try {
        p = m_alloc(c);
      } catch (const Error&) {
        if (m_stats.cached_blocks == 0) throw;
        release_cached();
        p = m_alloc(c);
      }
      JETPINN_CHECK(p, "device pool: the raw allocator returned null for " << c << " bytes");
      ++m_stats.raw_allocs;
    }
    m_live.emplace(p, c);
    ++m_stats.live_blocks;
    m_stats.live_bytes += c;
    return p;
  }

  // Back to its free list; nullptr is ignored; a pointer this cache did not hand out throws.
  void deallocate(void* p) {
    if (!p) return;
    auto it = m_live.find(p);
    JETPINN_CHECK(it != m_live.end(), "device pool: freeing a pointer it did not allocate (or freeing it twice)");
    const std::size_t c = it->second;
    m_live.erase(it);
    --m_stats.live_blocks;
    m_stats.live_bytes -= c;
    m_free_lists[c].push_back(p);
    ++m_stats.cached_blocks;
    m_stats.cached_bytes += c;
  }

  // Hands every cached (free) block back to the raw deallocator.
  void release_cached() {
    for (auto& [c, list] : m_free_lists) {
      for (void* p : list) {
        m_free(p);
        ++m_stats.raw_frees;
      }
      list.clear();
    }
    m_stats.cached_blocks = 0;
    m_stats.cached_bytes = 0;
  }

  const Stats& stats() const { return m_stats; }
  // Class size of a live block (0 when p is not live).
  std::size_t block_size(const void* p) const {
    auto it = m_live.find(const_cast<void*>(p));
    return it == m_live.end() ? 0 : it->second;
  }

 private:
  RawAlloc m_alloc;
  RawFree m_free;
  std::map<std::size_t, std::vector<void*>> m_free_lists;
  std::unordered_map<void*, std::size_t> m_live;
  Stats m_stats;
};

}  // namespace jetpinn::cuda
