#pragma once
// Loading and saving member weights in PyTorch's torch.save format, so that a state dict
// written in Python by
//     torch.save(model.state_dict(), f)          (an OrderedDict, the usual file)
//     torch.save(dict(model.state_dict()), f)    (a plain dict)
// loads into the C++ member whose parameter names follow torchvision, and a member saved
// here loads back (and into Python with torch.load).
#include <torch/torch.h>

#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "gradgate/zoo/weight_storage.h"

namespace gradgate {

// A state dict in file order: name -> tensor.
using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

struct LoadOptions {
  // When the file's classifier (the member's last layer) has another shape - another class
  // count - keep the member's freshly initialised classifier instead of failing. This is the
  // transfer-learning case: ImageNet weights into a 2- or 4-class member. Wrongly shaped hidden
  // layers of the module holding the classifier (alexnet/vgg "classifier.*" at another
  // classifier_width) are kept fresh too.
  bool skip_classifier_if_mismatch = false;
  // Accept a file that lacks some of the member's parameters/buffers (they keep their init).
  bool allow_missing = false;
  // Accept entries the member has no place for (they are ignored).
  bool allow_unexpected = false;
};

// What a load did. Always tolerated, and listed in `ignored`: torchvision's auxiliary heads
// (AuxLogits.*, aux1.*, aux2.*) when the member has none, and BatchNorm's num_batches_tracked
// when either side lacks it (older files, other frameworks).
struct LoadReport {
  std::vector<std::string> loaded;
  std::vector<std::string> skipped_classifier;
  std::vector<std::string> ignored;
  std::vector<std::string> missing;     // only non-empty with allow_missing
  std::vector<std::string> unexpected;  // only non-empty with allow_unexpected
};

// Reads every tensor of a torch.save file holding a (possibly Ordered) dict of tensors.
// A checkpoint dict whose "state_dict" or "model" entry is such a dict is also accepted, and a
// "module." prefix on every key (nn.DataParallel) is dropped, and int8 entries with their
// ":int8_scale" (weight_storage.h) come back as float32. Throws ModelError naming the file.
NamedTensors read_state_dict(const std::string& path);

// Copies the file's tensors into `model`'s parameters and buffers by name. Throws ModelError
// naming the file and listing missing, unexpected and wrongly shaped keys (with both shapes).
// Tensors are converted to the member's dtype; the member's device is kept.
LoadReport load_torchvision_state_dict(torch::nn::Module& model, const std::string& path,
                                       const LoadOptions& options = {});
// The same for tensors already in memory; `source` names them in errors.
LoadReport load_state_dict(torch::nn::Module& model, const NamedTensors& tensors,
                           const LoadOptions& options, const std::string& source);

// An exception's message for a user: torch's c10::Error without the C++ backtrace its
// what() carries (a corrupt file must read as one line, not a libtorch stack dump).
std::string error_text(const std::exception& e);

// Checks a file before torch's own reader (torch::serialize::InputArchive: the U-Net,
// training checkpoints) opens it: a regular file, whose pickles stay within the reader's
// bounds (nesting, opcodes; a crafted pickle otherwise overflows the stack in torch).
// Throws ModelError "<what> <path>: <reason>".
void check_torch_archive(const std::string& path, const std::string& what);

// Writes all parameters and buffers as a plain dict of CPU tensors in torch.save's zip format
// (Python: model.load_state_dict(torch.load(f)) for float32/float16; int8 files need their
// "<key>:int8_scale" entries folded back first, see weight_storage.h). Atomic: a temporary
// file, then a rename. Integer buffers keep their type.
void save_state_dict(torch::nn::Module& model, const std::string& path,
                     WeightStorage storage = WeightStorage::Float32);

// Rounds every floating-point parameter and buffer through `storage` in place, so a member
// evaluated after this gives exactly what its file will give when loaded.
void round_to_storage(torch::nn::Module& model, WeightStorage storage);

}  // namespace gradgate
