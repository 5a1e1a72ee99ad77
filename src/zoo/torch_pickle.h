#pragma once
// A small unpickler for the subset of Python pickle that torch.save writes (protocols 2-5):
// dicts and collections.OrderedDict (with its _metadata set by BUILD), lists, tuples,
// strings, bytes, ints, floats, bools, None, and tensors rebuilt from storages through
// persistent_load + torch._utils._rebuild_tensor_v2 / _rebuild_parameter.
// LibTorch's own torch::pickle_load maps collections.OrderedDict to None and so cannot read
// the usual torch.save(model.state_dict(), f) file; this reader exists for that file.
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace gradgate::zoo::pickle {

struct Value;
using Ref = std::shared_ptr<Value>;

struct Value {
  enum class Kind { None, Bool, Int, Float, String, Bytes, Tuple, List, Dict, Global, Storage, Tensor, Object };
  Kind kind = Kind::None;
  bool b = false;
  int64_t i = 0;
  double f = 0.0;
  std::string s;                          // String, Bytes; Global and Object: "module.name"
  std::vector<Ref> items;                 // Tuple, List; Object: constructor arguments
  std::vector<std::pair<Ref, Ref>> dict;  // Dict (insertion order)
  torch::Tensor tensor;                   // Tensor; Storage: its 1-D data
  Ref state;                              // set by BUILD (e.g. OrderedDict's _metadata)
  int depth = 0;                          // containers nested below this value
  bool held = false;                      // inside another value: the unpickler changes it no more

  Value() = default;
  Value(const Value&) = delete;
  Value& operator=(const Value&) = delete;
  // Iterative: children this value alone owns are taken apart on a work list, so no value
  // tree, however deep (shared memo entries included), recurses through destructors.
  ~Value();
};

// A pickle beyond the reader's bounds (nesting depth, opcode count, a value that contains
// itself or is changed after it was put inside another): a crafted or runaway file, refused
// before its value tree could overflow the stack, fill memory or leak as a shared_ptr cycle.
class PickleLimitError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

const char* kind_name(Value::Kind k);

// persistent_load: maps a persistent id (torch: ('storage', type, key, location, numel))
// to a value (a Storage).
using PersistentLoad = std::function<Ref(const Ref& pid)>;

// Unpickles `data`. Throws std::runtime_error describing the offset and opcode on bad input,
// PickleLimitError past 1,000 levels of nesting or 2,000,000 opcodes, and for the two
// structures a state dict never has: a value inside itself, and APPEND/SETITEM/BUILD into a
// value already held by another (which would hide nesting from the depth count).
Ref unpickle(const uint8_t* data, std::size_t size, const PersistentLoad& persistent_load);

// The records of a torch.save archive beside its data.pkl (the storages, "data/<key>"):
// read_record returns a record's bytes, or nullopt when the archive has no such record.
struct Record {
  at::DataPtr data;
  std::size_t size = 0;
};
using ReadRecord = std::function<std::optional<Record>(const std::string& name)>;

// Unpickles a torch.save data.pkl, resolving its storages through `read_record`: what
// load_torch_save does once the archive is open (also the pickle fuzzer's entry point).
Ref unpickle_torch_save(const uint8_t* pkl, std::size_t size, const ReadRecord& read_record);

// Reads a torch.save zip archive (any archive folder name) and unpickles its data.pkl,
// loading storages from data/<key>. Throws std::runtime_error on failure.
Ref load_torch_save(const std::string& path);

// The pre-scan for files torch's own reader loads (torch::serialize::InputArchive: the U-Net,
// training checkpoints), whose value teardown recurses too: walks every .pkl record of the
// zip with this reader and throws PickleLimitError when one is beyond the bounds above.
// Anything else (not a zip, opcodes this reader does not model) is left to torch.
void check_pickle_bounds(const std::string& path);

}  // namespace gradgate::zoo::pickle
