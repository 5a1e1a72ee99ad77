// The models folders committed under models/<task>/ (written by ensemble-train): each
// manifest loads, names its task and the task's classes, and every member's weights load
// strictly into the member built at the manifest's size and give finite logits; a member whose
// manifest records its weights' hash has those weights. A folder
// that a later change to the zoo or the manifest format broke fails here, not in a user's run.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "gradgate/store/models_manifest.h"
#include "gradgate/train.h"
#include "gradgate/zoo/registry.h"
#include "test_util.h"
#include "train/compat.h"

using namespace gradgate;
namespace fs = std::filesystem;

TEST(CommittedModels, EveryManifestAndMemberLoads) {
  int folders = 0;
  for (const auto& entry : fs::directory_iterator(gradgate::testing::source_dir() / "config" / "tasks")) {
    const std::string task_name = entry.path().stem().string();
    const fs::path dir = gradgate::testing::source_dir() / "models" / task_name;
    if (!fs::exists(dir / "manifest.yaml")) continue;
    ++folders;
    SCOPED_TRACE(dir.string());
    const TaskSpec task = resolve_task(task_name);
    const ModelsManifest mm = load_models_manifest(dir);
    EXPECT_EQ(mm.task, task.name);
    EXPECT_EQ(mm.classes, task.classes);
    ASSERT_FALSE(mm.members.empty());
    torch::NoGradGuard no_grad;
    for (const auto& e : mm.members) {
      SCOPED_TRACE(e.name);
      const PresetSpec p = train_detail::preset_of(e.name, e.preset);
      EXPECT_EQ(e.input_side, p.input_side) << "the manifest's side differs from networks.yaml's preset";
      EXPECT_NEAR(e.width, p.width, 1e-6);
      MemberOptions mo;
      mo.num_classes = task.num_classes();
      mo.width = e.width;
      mo.input_side = e.input_side;
      mo.classifier_width = e.classifier_width;
      Member m = make_member(e.name, mo);
      if (!e.weights_hash.empty())
        EXPECT_EQ(e.weights_hash, weights_file_hash(e.file)) << "the weights differ from those the manifest lists";
      train_detail::load_weights(*m, e.file, /*transfer=*/false);
      m->eval();
      const auto logits = m->forward(torch::zeros({1, 3, e.input_side, e.input_side}));
      ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{1, task.num_classes()}));
      EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
      ASSERT_TRUE(e.test_accuracy.has_value()) << "a trained member without its test figures";
    }
  }
  EXPECT_GE(folders, 1) << "no committed models folder found under models/";
}
