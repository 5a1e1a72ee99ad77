// prepare_process (process_policy.h), which the test binary's main calls as every tool does:
// a large tensor freed by a training step stays in the allocator's heap for the next step,
// in the main thread and in a worker thread (ensemble-train trains members in TBB workers),
// instead of being unmapped and faulted in again.
#include <torch/torch.h>

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdlib>
#include <thread>

namespace {

constexpr int64_t kBytes = 96LL << 20;  // above glibc's largest default mmap threshold (32 MiB)

struct HeapUse {
  size_t mmapped;  // bytes in blocks that have their own mmap
  size_t free;     // bytes free in the heaps, kept for reuse
};

HeapUse heap_use() {
  const struct mallinfo2 m = mallinfo2();  // summed over every arena
  return {m.hblkhd, m.fordblks};
}

// Allocates, touches and frees one kBytes tensor; returns the heap use while it was alive and
// after it was freed.
std::pair<HeapUse, HeapUse> one_large_tensor() {
  HeapUse alive{};
  {
    auto t = torch::empty({kBytes / 4}, torch::kFloat32);
    t.fill_(1.0f);
    alive = heap_use();
  }
  return {alive, heap_use()};
}

void expect_kept(const HeapUse& before, const std::pair<HeapUse, HeapUse>& r, const char* where) {
  EXPECT_LT(r.first.mmapped, before.mmapped + kBytes / 2)
      << where << ": the 96 MiB tensor got its own mmap (unmapped on free, faulted in again)";
  EXPECT_GE(r.second.free, static_cast<size_t>(kBytes))
      << where << ": the freed 96 MiB are not kept in the heap for the next step";
}

TEST(ProcessPolicy, FreedLargeTensorsStayInTheHeap) {
  const char* v = std::getenv("GRADGATE_MALLOC");
  if (v && std::string(v) == "default") GTEST_SKIP() << "GRADGATE_MALLOC=default: glibc's defaults asked for";
  const HeapUse before = heap_use();
  expect_kept(before, one_large_tensor(), "main thread");

  std::pair<HeapUse, HeapUse> in_worker;
  const HeapUse before_worker = heap_use();
  std::thread([&] { in_worker = one_large_tensor(); }).join();
  expect_kept(before_worker, in_worker, "worker thread");
}

}  // namespace
