// libFuzzer: a torch.save data.pkl through the weights reader's unpickler (torch_pickle.cpp,
// compiled into this target alone: no zip, no networks), with every storage record
// "data/<key>" present and 64 bytes long, so that tensors are rebuilt from fuzzed sizes,
// strides and offsets. Seeds: tests/fuzz/make_pickle_corpus.py (python3-torch's torch.save).
#include <cstdint>
#include <cstring>
#include <exception>

#include "zoo/torch_pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace pk = gradgate::zoo::pickle;
  const pk::ReadRecord records = [](const std::string&) -> std::optional<pk::Record> {
    constexpr std::size_t kBytes = 64;
    void* p = at::getCPUAllocator()->raw_allocate(kBytes);
    std::memset(p, 0, kBytes);
    return pk::Record{at::DataPtr(p, p, at::getCPUAllocator()->raw_deleter(), at::kCPU), kBytes};
  };
  try {
    pk::Ref top = pk::unpickle_torch_save(data, size, records);
    // What read_state_dict does next: look at each entry of a dict of tensors.
    if (top && top->kind == pk::Value::Kind::Dict)
      for (const auto& [k, v] : top->dict)
        if (v->kind == pk::Value::Kind::Tensor && v->tensor.defined()) (void)v->tensor.sum().item<double>();
  } catch (const std::exception&) {  // runtime_error, PickleLimitError, c10::Error
  }
  try {  // the pre-scan's path (check_pickle_bounds: every storage a None) over the same bytes
    (void)pk::unpickle(data, size, [](const pk::Ref&) { return std::make_shared<pk::Value>(); });
  } catch (const std::exception&) {
  }
  return 0;
}
