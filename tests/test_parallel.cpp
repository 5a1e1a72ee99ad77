// Thread plan arithmetic, for_each_member semantics, and parallel Grad-CAM == serial, bit for bit.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "cam_test_members.h"
#include "gradgate/error.h"
#include "gradgate/gradcam.h"
#include "gradgate/parallel.h"
#include "gradgate/zoo/registry.h"

using namespace gradgate;

TEST(ThreadPlan, NeverOversubscribes) {
  struct Case {
    int cores, members, want_members, want_intra;
  };
  for (const Case c : {Case{2, 0, 2, 1}, Case{2, 1, 1, 2}, Case{8, 2, 2, 4}, Case{4, 10, 4, 1},
                       Case{3, 2, 2, 1}, Case{1, 0, 1, 1}, Case{16, 3, 3, 5}}) {
    const auto p = plan_threads(c.cores, c.members);
    EXPECT_EQ(p.cores, c.cores);
    EXPECT_EQ(p.parallel_members, c.want_members) << c.cores << " cores, " << c.members;
    EXPECT_EQ(p.intra_op_threads, c.want_intra) << c.cores << " cores, " << c.members;
    EXPECT_LE(p.parallel_members * p.intra_op_threads, p.cores);
  }
  const auto d = plan_threads();
  EXPECT_GE(d.cores, 1);
  EXPECT_EQ(d.parallel_members, d.cores);
}

TEST(ThreadPlan, TrainingGivesParallelMembersOneThreadEachAndOneMemberEveryCore) {
  struct Case {
    int cores, members, want_members, want_intra;
  };
  // Unlike plan_threads, members in parallel never get more than one thread (8 cores, 3
  // members: plan_threads gives 2 each).
  for (const Case c : {Case{2, 2, 2, 1}, Case{2, 1, 1, 2}, Case{8, 3, 3, 1}, Case{4, 10, 4, 1},
                       Case{6, 1, 1, 6}, Case{3, 0, 1, 3}}) {
    const auto p = plan_training_threads(c.cores, c.members);
    EXPECT_EQ(p.cores, c.cores);
    EXPECT_EQ(p.parallel_members, c.want_members) << c.cores << " cores, " << c.members;
    EXPECT_EQ(p.intra_op_threads, c.want_intra) << c.cores << " cores, " << c.members;
  }
  EXPECT_EQ(plan_threads(8, 3).intra_op_threads, 2);
}

TEST(ThreadPlan, ConfigureAppliesAGivenPlanAsIs) {
  ThreadPlan p;
  p.cores = 4;
  p.parallel_members = 3;
  p.intra_op_threads = 1;
  const auto got = configure_threads(p);
  EXPECT_EQ(got.parallel_members, 3);
  EXPECT_EQ(got.intra_op_threads, 1);
  EXPECT_EQ(at::get_num_threads(), 1);
  EXPECT_EQ(current_thread_plan().parallel_members, 3);
  p.intra_op_threads = 0;
  EXPECT_THROW(configure_threads(p), std::invalid_argument);
  configure_threads(2, 2);
  EXPECT_EQ(current_thread_plan().parallel_members, 2);
}

TEST(ThreadPlan, ConfigureAppliesTorchThreads) {
  const auto p = configure_threads(4, 2);
  EXPECT_EQ(p.intra_op_threads, 2);
  EXPECT_EQ(at::get_num_threads(), 2);
  EXPECT_EQ(current_thread_plan().parallel_members, 2);
  configure_threads(2, 2);
  EXPECT_EQ(at::get_num_threads(), 1);
}

TEST(ThreadPlan, ConfigureSizesOpenBlasLikeTheIntraOpPool) {
  if (blas_threads() == 0) GTEST_SKIP() << "libblas.so.3 is not OpenBLAS";
  configure_threads(2, 1);  // one member alone: two intra-op threads, two BLAS threads
  EXPECT_EQ(at::get_num_threads(), 2);
  EXPECT_EQ(blas_threads(), 2);
  configure_threads(2, 2);  // two members at once: one each, and one BLAS thread
  EXPECT_EQ(at::get_num_threads(), 1);
  EXPECT_EQ(blas_threads(), 1);
}

TEST(ForEachMember, RunsEveryIndexOnceAndRespectsConcurrency) {
  configure_threads(2, 2);
  for (auto mode : {RunMode::Serial, RunMode::Parallel}) {
    std::vector<int> hits(9, 0);
    std::atomic<int> running{0}, peak{0};
    for_each_member(hits.size(), [&](std::size_t i) {
      const int now = ++running;
      int seen = peak.load();
      while (now > seen && !peak.compare_exchange_weak(seen, now)) {
      }
      // A little real work, so tasks overlap when they can.
      torch::mm(torch::ones({64, 64}), torch::ones({64, 64})).sum().item<float>();
      ++hits[i];  // distinct i per task: no race
      EXPECT_EQ(at::get_num_threads(), 1);  // the plan's intra-op count, also on TBB workers
      --running;
    }, mode);
    EXPECT_EQ(hits, std::vector<int>(9, 1));
    EXPECT_LE(peak.load(), mode == RunMode::Serial ? 1 : 2);
  }
}

TEST(ForEachMember, RethrowsTheMembersException) {
  configure_threads(2, 2);
  EXPECT_THROW(for_each_member(6, [](std::size_t i) {
    if (i == 3) throw ModelError("member 3 failed");
  }), ModelError);
  EXPECT_THROW(for_each_member(2, [](std::size_t) { throw ModelError("x"); }, RunMode::Serial),
               ModelError);
}

namespace {

bool bit_identical(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && a.isContinuous() && b.isContinuous() &&
         std::memcmp(a.data, b.data, a.total() * a.elemSize()) == 0;
}

void expect_parallel_equals_serial(std::vector<Member>& members,
                                   const std::vector<torch::Tensor>& inputs) {
  const std::vector<cv::Size> sizes = {{70, 50}, {33, 90}};
  std::vector<CamResult> serial(members.size()), parallel(members.size());
  for_each_member(members.size(), [&](std::size_t i) {
    serial[i] = grad_cam(*members[i], inputs[i], sizes);
  }, RunMode::Serial);
  std::mutex mu;
  std::set<std::thread::id> threads;
  for_each_member(members.size(), [&](std::size_t i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      threads.insert(std::this_thread::get_id());
    }
    parallel[i] = grad_cam(*members[i], inputs[i], sizes);
  }, RunMode::Parallel);
  for (size_t i = 0; i < members.size(); ++i) {
    EXPECT_TRUE(torch::equal(serial[i].batch.low_res, parallel[i].batch.low_res)) << "member " << i;
    EXPECT_TRUE(torch::equal(serial[i].batch.logits, parallel[i].batch.logits)) << "member " << i;
    EXPECT_TRUE(torch::equal(serial[i].batch.probs, parallel[i].batch.probs)) << "member " << i;
    EXPECT_EQ(serial[i].batch.empty, parallel[i].batch.empty);
    for (size_t k = 0; k < sizes.size(); ++k)
      EXPECT_TRUE(bit_identical(serial[i].maps[k], parallel[i].maps[k])) << "member " << i;
  }
  // Informational: on a 1-core machine TBB may run everything on one thread.
  ::testing::Test::RecordProperty("threads_used", static_cast<int>(threads.size()));
}

}  // namespace

TEST(ParallelGradCam, BitIdenticalToSerialOnHandBuiltMembers) {
  configure_threads(2, 2);
  std::vector<Member> members;
  std::vector<torch::Tensor> inputs;
  for (int i = 0; i < 6; ++i) {
    torch::manual_seed(100 + i);
    if (i % 2)
      members.push_back(gradgate::testing::SmallCnn(3).ptr());
    else
      members.push_back(gradgate::testing::GapLinear(8, 3).ptr());
    inputs.push_back(torch::randn({2, 3, 40, 40}));
  }
  expect_parallel_equals_serial(members, inputs);
}

TEST(ParallelGradCam, BitIdenticalToSerialOnTinyZooMembers) {
  configure_threads(2, 2);
  std::vector<Member> members;
  std::vector<torch::Tensor> inputs;
  for (const std::string name : {"resnet18", "squeezenet", "mobilenetv2", "alexnet"}) {
    MemberOptions o;
    o.num_classes = 3;
    o.width = 0.125;
    o.input_side = 64;
    torch::manual_seed(200);
    try {
      members.push_back(make_member(name, o));
    } catch (const ModelError& e) {
      continue;  // not built yet in this branch
    }
    inputs.push_back(torch::randn({2, 3, 64, 64}));
  }
  if (members.size() < 2) GTEST_SKIP() << "fewer than two zoo members are built yet";
  expect_parallel_equals_serial(members, inputs);
}
