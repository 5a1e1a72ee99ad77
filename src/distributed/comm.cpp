// comm.h on c10d: TCPStore rendezvous, ProcessGroupGloo collectives. The one file that sees
// Gloo's headers: Debian's libtorch is built with Gloo, and its c10d header shows the class
// only under this macro.
#include "gradgate/comm.h"

#define USE_C10D_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace gradgate {

namespace {

std::chrono::milliseconds millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}

// The first line of a c10d/Gloo message (their full text carries a C++ backtrace).
std::string first_line(const std::exception& e) {
  std::string s = e.what();
  const auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

}  // namespace

struct Comm::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

Comm::Comm(const DistOptions& options) : options_(options), impl_(std::make_unique<Impl>()) {}
Comm::~Comm() = default;

std::shared_ptr<Comm> Comm::connect(const DistOptions& given) {
  check_dist_options(given);
  std::shared_ptr<Comm> c(new Comm(given));
  const DistOptions& o = c->options_;
  if (o.world_size == 1) return c;  // one process: every collective is the identity
  const auto timeout = millis(o.timeout_seconds);
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(o.master_port);
    so.isServer = o.rank == 0;
    so.numWorkers = static_cast<std::size_t>(o.world_size);
    so.waitWorkers = true;
    so.timeout = timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(o.master_addr, so);
    // Keys of this group under a prefix of their own, as torch.distributed does.
    c->impl_->store = c10::make_intrusive<c10d::PrefixStore>("gradgate/0", tcp);
    auto go = c10d::ProcessGroupGloo::Options::create(timeout);
    go->devices.push_back(o.interface.empty()
                              ? c10d::ProcessGroupGloo::createDefaultDevice()
                              : c10d::ProcessGroupGloo::createDeviceForInterface(o.interface));
    // One Gloo worker thread: the transfers are small next to the members' compute, and the
    // cores belong to torch.
    go->threads = 1;
    c->impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(c->impl_->store, o.rank,
                                                                  o.world_size, go);
  } catch (const std::exception& e) {
    throw DistributedError(describe(o) + ": could not meet the other ranks within " +
                           std::to_string(static_cast<int64_t>(o.timeout_seconds)) + " s: " +
                           first_line(e));
  }
  return c;
}

template <typename F>
void Comm::guarded(const char* what, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    throw DistributedError(describe(options_) + ": " + what +
                           " failed (another rank stopped, the network broke, or it waited "
                           "longer than " +
                           std::to_string(static_cast<int64_t>(options_.timeout_seconds)) +
                           " s): " + first_line(e));
  }
}

void Comm::allreduce_sum(const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes) {
  if (world() == 1 || tensors.empty()) return;
  torch::NoGradGuard no_grad;
  // Buckets of consecutive tensors of one dtype, flattened into one buffer each: one Gloo
  // transfer per bucket instead of one per tensor (a member has 50-500 tensors).
  struct Bucket {
    std::vector<torch::Tensor> parts;
    torch::Tensor flat;
  };
  std::vector<Bucket> buckets;
  int64_t bytes = 0;
  for (const auto& t : tensors) {
    const int64_t b = t.numel() * static_cast<int64_t>(t.element_size());
    if (buckets.empty() || bytes + b > bucket_bytes ||
        buckets.back().parts.front().scalar_type() != t.scalar_type()) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().parts.push_back(t);
    bytes += b;
  }
  guarded("all-reduce", [&] {
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (auto& bk : buckets) {
      std::vector<torch::Tensor> flat_parts;
      for (const auto& p : bk.parts) flat_parts.push_back(p.reshape({-1}));
      bk.flat = torch::cat(flat_parts);
      std::vector<torch::Tensor> v{bk.flat};
      works.push_back(impl_->group->allreduce(v));
    }
    for (std::size_t i = 0; i < buckets.size(); ++i) {
      works[i]->wait();
      int64_t at = 0;
      for (auto& p : buckets[i].parts) {
        p.copy_(buckets[i].flat.narrow(0, at, p.numel()).view_as(p));
        at += p.numel();
      }
    }
  });
}

void Comm::Pending::wait() {
  if (wait_) {
    auto w = std::move(wait_);
    wait_ = nullptr;
    w();
  }
}

Comm::Pending Comm::start_allreduce_sum(const torch::Tensor& flat) {
  Pending p;
  if (world() == 1) return p;
  TORCH_CHECK(flat.is_contiguous(), "start_allreduce_sum: expected a contiguous tensor");
  c10::intrusive_ptr<c10d::Work> work;
  guarded("all-reduce", [&] {
    std::vector<torch::Tensor> v{flat};
    work = impl_->group->allreduce(v);
  });
  p.wait_ = [this, work] { guarded("all-reduce", [&] { work->wait(); }); };
  return p;
}

void Comm::broadcast(const std::vector<torch::Tensor>& tensors, int root) {
  if (world() == 1 || tensors.empty()) return;
  torch::NoGradGuard no_grad;
  guarded("broadcast", [&] {
    c10d::BroadcastOptions bo;
    bo.rootRank = root;
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    std::vector<torch::Tensor> dense;
    for (const auto& t : tensors) dense.push_back(t.is_contiguous() ? t : t.contiguous());
    for (auto& t : dense) {
      std::vector<torch::Tensor> v{t};
      works.push_back(impl_->group->broadcast(v, bo));
    }
    for (std::size_t i = 0; i < dense.size(); ++i) {
      works[i]->wait();
      if (!dense[i].is_same(tensors[i])) tensors[i].copy_(dense[i]);
    }
  });
}

std::string Comm::broadcast_bytes(const std::string& bytes, int root) {
  if (world() == 1) return bytes;
  torch::Tensor n = torch::tensor({static_cast<int64_t>(bytes.size())}, torch::kInt64);
  broadcast({n}, root);
  torch::Tensor buf = torch::empty({n.item<int64_t>()}, torch::kUInt8);
  if (rank() == root && !bytes.empty()) std::memcpy(buf.data_ptr(), bytes.data(), bytes.size());
  if (buf.numel() > 0) broadcast({buf}, root);
  return std::string(reinterpret_cast<const char*>(buf.data_ptr()), static_cast<std::size_t>(buf.numel()));
}

std::vector<torch::Tensor> Comm::allgather(const torch::Tensor& t) {
  if (world() == 1) return {t};
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> out;
  guarded("all-gather", [&] {
    // First the lengths (first dimension), then the tensors padded to the longest.
    std::vector<torch::Tensor> in{torch::tensor({t.dim() > 0 ? t.size(0) : 1}, torch::kInt64)};
    std::vector<std::vector<torch::Tensor>> lens(1);
    for (int r = 0; r < world(); ++r) lens[0].push_back(torch::empty({1}, torch::kInt64));
    impl_->group->allgather(lens, in)->wait();
    int64_t longest = 0;
    for (const auto& l : lens[0]) longest = std::max(longest, l.item<int64_t>());
    auto shape = t.sizes().vec();
    if (shape.empty()) shape = {1};
    const int64_t mine = shape[0];
    shape[0] = longest;
    torch::Tensor padded = torch::zeros(shape, t.options());
    if (mine > 0) padded.narrow(0, 0, mine).copy_(t.reshape(t.dim() > 0 ? t.sizes().vec() : std::vector<int64_t>{1}));
    std::vector<torch::Tensor> pin{padded};
    std::vector<std::vector<torch::Tensor>> got(1);
    for (int r = 0; r < world(); ++r) got[0].push_back(torch::empty(shape, t.options()));
    impl_->group->allgather(got, pin)->wait();
    for (int r = 0; r < world(); ++r) out.push_back(got[0][r].narrow(0, 0, lens[0][r].item<int64_t>()).clone());
  });
  return out;
}

bool Comm::all_ok(bool ok) {
  if (world() == 1) return ok;
  torch::Tensor bad = torch::tensor({ok ? 0 : 1}, torch::kInt64);
  allreduce_sum({bad});
  return bad.item<int64_t>() == 0;
}

void Comm::raise_if_failed_anywhere(std::exception_ptr failed, const std::string& elsewhere) {
  if (all_ok(!failed)) return;
  if (failed) std::rethrow_exception(failed);
  throw DistributedError(describe(options_) + ": " + elsewhere);
}

void Comm::barrier(double timeout_seconds) {
  if (world() == 1) return;
  guarded("barrier", [&] {
    c10d::BarrierOptions bo;
    if (timeout_seconds > 0) bo.timeout = millis(timeout_seconds);
    impl_->group->barrier(bo)->wait();
  });
}

}  // namespace gradgate
