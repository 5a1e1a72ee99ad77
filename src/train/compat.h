#pragma once
// What training needs from the other stages (task/preset configuration, data set reading,
// image loading, weight files), behind one small private interface. Private to src/train.
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "gradgate/config.h"  // PresetSpec
#include "gradgate/zoo/weight_storage.h"
#include "gradgate/member_card.h"
#include "gradgate/task.h"

namespace gradgate::train_detail {

// One sample of a data set, before the task is applied. split: 0 train, 1 val, 2 test.
struct RawSample {
  std::filesystem::path image;  // absolute
  std::string diagnosis;
  std::string source;
  int split = 0;
  std::filesystem::path mask;  // empty when the data set has none
};

struct RawData {
  std::string format;  // manifest | tree | csv
  std::vector<RawSample> samples;
};

TaskSpec load_task_spec(const std::string& name_or_file);
std::vector<std::string> task_default_members(const std::string& task_name);
// The member's card at `preset` from config/networks.yaml (side, width, normalisation).
MemberCard member_card(const std::string& member, const std::string& preset);
PresetSpec preset_of(const std::string& member, const std::string& preset);  // from member_card
RawData read_raw_data(const std::filesystem::path& data);
// CV_32FC1 in [0,1]; throws ImageError naming the file.
cv::Mat load_gray_image(const std::filesystem::path& path);
// Atomic (temp file, then rename).
void save_weights(torch::nn::Module& model, const std::filesystem::path& path,
                  WeightStorage storage = WeightStorage::Float32);
// Loads a torchvision state dict. `transfer`: a classifier of another shape is skipped.
// Returns a one-line description of what was loaded.
std::string load_weights(torch::nn::Module& model, const std::filesystem::path& path,
                         bool transfer);

}  // namespace gradgate::train_detail
