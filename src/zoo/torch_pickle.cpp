#include "zoo/torch_pickle.h"

#include <caffe2/serialize/inline_container.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

namespace gradgate::zoo::pickle {

const char* kind_name(Value::Kind k) {
  switch (k) {
    case Value::Kind::None: return "None";
    case Value::Kind::Bool: return "bool";
    case Value::Kind::Int: return "int";
    case Value::Kind::Float: return "float";
    case Value::Kind::String: return "str";
    case Value::Kind::Bytes: return "bytes";
    case Value::Kind::Tuple: return "tuple";
    case Value::Kind::List: return "list";
    case Value::Kind::Dict: return "dict";
    case Value::Kind::Global: return "global";
    case Value::Kind::Storage: return "storage";
    case Value::Kind::Tensor: return "tensor";
    case Value::Kind::Object: return "object";
  }
  return "?";
}

Value::~Value() {
  std::vector<Ref> work;
  const auto take = [&work](Value& v) {
    for (auto& r : v.items) work.push_back(std::move(r));
    for (auto& [k, x] : v.dict) {
      work.push_back(std::move(k));
      work.push_back(std::move(x));
    }
    if (v.state) work.push_back(std::move(v.state));
    v.items.clear();
    v.dict.clear();
  };
  take(*this);
  while (!work.empty()) {
    Ref r = std::move(work.back());
    work.pop_back();
    if (r && r.use_count() == 1) take(*r);  // the last owner: its children go on the list
  }  // r's destructor finds no children left
}

namespace {

Ref make(Value::Kind k) {
  auto v = std::make_shared<Value>();
  v->kind = k;
  return v;
}
Ref make_int(int64_t i) {
  auto v = make(Value::Kind::Int);
  v->i = i;
  return v;
}
Ref make_str(std::string s, Value::Kind k = Value::Kind::String) {
  auto v = make(k);
  v->s = std::move(s);
  return v;
}

// Bounds on what a weights file may ask of the reader. Nesting: a Value tree is torn down
// recursively (shared_ptr destructors), so 100,000 nested TUPLE1s overflowed the stack
// (SIGSEGV); a state dict nests 3-5 deep. Opcodes: each may create a value of ~200 bytes; a
// state dict of the largest member (nasnetlarge, ~1,500 tensors) runs ~30,000.
constexpr int kMaxDepth = 1000;
constexpr std::size_t kMaxOpcodes = 2'000'000;

class Unpickler {
 public:
  Unpickler(const uint8_t* data, std::size_t size, const PersistentLoad& pl)
      : p_(data), size_(size), persistent_load_(pl) {}

  Ref run() {
    while (true) {
      op_pos_ = pos_;
      const uint8_t op = u8();
      op_ = op;
      if (++opcodes_ > kMaxOpcodes)
        limit("more than " + std::to_string(kMaxOpcodes) + " pickle opcodes (not a state dict)");
      switch (op) {
        case 0x80: u8(); break;                       // PROTO
        case 0x95: skip(8); break;                    // FRAME (protocol 4+): length, ignored
        case '.': return pop();                       // STOP
        case '(': marks_.push_back(stack_.size()); break;  // MARK
        case '0': pop(); break;                       // POP
        case '1': pop_mark(); break;                  // POP_MARK
        case '2': push(top()); break;                 // DUP
        case 'N': push(make(Value::Kind::None)); break;
        case 0x88: case 0x89: {                       // NEWTRUE / NEWFALSE
          auto v = make(Value::Kind::Bool);
          v->b = op == 0x88;
          push(v);
          break;
        }
        case 'J': push(make_int(static_cast<int32_t>(le(4)))); break;  // BININT
        case 'K': push(make_int(static_cast<int64_t>(le(1)))); break;  // BININT1
        case 'M': push(make_int(static_cast<int64_t>(le(2)))); break;  // BININT2
        case 0x8a: push(make_int(long_n(u8()))); break;                // LONG1
        case 0x8b: push(make_int(long_n(le(4)))); break;               // LONG4
        case 'G': {                                                    // BINFLOAT (big-endian)
          uint64_t bits = 0;
          for (int k = 0; k < 8; ++k) bits = (bits << 8) | u8();
          auto v = make(Value::Kind::Float);
          std::memcpy(&v->f, &bits, 8);
          push(v);
          break;
        }
        case 'X': push(make_str(bytes(le(4)))); break;                 // BINUNICODE
        case 0x8c: push(make_str(bytes(le(1)))); break;                // SHORT_BINUNICODE
        case 0x8d: push(make_str(bytes(le(8)))); break;                // BINUNICODE8
        case 'T': push(make_str(bytes(le(4)))); break;                 // BINSTRING (py2 str)
        case 'U': push(make_str(bytes(le(1)))); break;                 // SHORT_BINSTRING
        case 'B': push(make_str(bytes(le(4)), Value::Kind::Bytes)); break;  // BINBYTES
        case 'C': push(make_str(bytes(le(1)), Value::Kind::Bytes)); break;  // SHORT_BINBYTES
        case 0x8e: push(make_str(bytes(le(8)), Value::Kind::Bytes)); break; // BINBYTES8
        case ')': push(make(Value::Kind::Tuple)); break;               // EMPTY_TUPLE
        case 0x85: case 0x86: case 0x87: {                             // TUPLE1..3
          const std::size_t n = op - 0x84;
          need(n);
          auto t = make(Value::Kind::Tuple);
          t->items.assign(stack_.end() - n, stack_.end());
          stack_.resize(stack_.size() - n);
          nest(t, t->items);
          push(t);
          break;
        }
        case 't': {                                                    // TUPLE
          auto t = make(Value::Kind::Tuple);
          t->items = pop_mark();
          nest(t, t->items);
          push(t);
          break;
        }
        case ']': push(make(Value::Kind::List)); break;                // EMPTY_LIST
        case 'l': {                                                    // LIST
          auto l = make(Value::Kind::List);
          l->items = pop_mark();
          nest(l, l->items);
          push(l);
          break;
        }
        case 'a': {                                                    // APPEND
          auto v = pop();
          adopting(expect(top(), Value::Kind::List), {v})->items.push_back(v);
          nest(top(), {v});
          break;
        }
        case 'e': {                                                    // APPENDS
          auto vs = pop_mark();
          auto& l = adopting(expect(top(), Value::Kind::List), vs)->items;
          l.insert(l.end(), vs.begin(), vs.end());
          nest(top(), vs);
          break;
        }
        case '}': push(make(Value::Kind::Dict)); break;                // EMPTY_DICT
        case 'd': {                                                    // DICT
          auto d = make(Value::Kind::Dict);
          set_items(d, pop_mark());
          push(d);
          break;
        }
        case 's': {                                                    // SETITEM
          auto v = pop();
          auto k = pop();
          set_items(top(), {k, v});
          break;
        }
        case 'u': {                                                    // SETITEMS
          auto kv = pop_mark();
          set_items(top(), kv);
          break;
        }
        case 'q': memo_put(le(1)); break;                              // BINPUT
        case 'r': memo_put(le(4)); break;                              // LONG_BINPUT
        case 0x94: memo_put(memo_.size()); break;                      // MEMOIZE
        case 'h': push(memo_get(le(1))); break;                        // BINGET
        case 'j': push(memo_get(le(4))); break;                        // LONG_BINGET
        case 'c': {                                                    // GLOBAL
          std::string module = line();
          std::string name = line();
          push(make_str(module + "." + name, Value::Kind::Global));
          break;
        }
        case 0x93: {                                                   // STACK_GLOBAL
          auto name = pop();
          auto module = pop();
          push(make_str(module->s + "." + name->s, Value::Kind::Global));
          break;
        }
        case 'Q': push(persistent_load_(pop())); break;                // BINPERSID
        case 'R': {                                                    // REDUCE
          auto args = pop();
          auto fn = pop();
          push(nest(call(fn, args), {args}));
          break;
        }
        case 0x81: {                                                   // NEWOBJ
          auto args = pop();
          auto cls = pop();
          push(nest(call(cls, args), {args}));
          break;
        }
        case 'b': {                                                    // BUILD
          auto state = pop();
          adopting(top(), {state})->state = state;
          nest(top(), {state});  // OrderedDict._metadata and the like: kept, not interpreted
          break;
        }
        default: fail("unsupported pickle opcode");
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    std::ostringstream os;
    os << what << " (opcode 0x" << std::hex << static_cast<int>(op_) << std::dec << " at byte "
       << op_pos_ << ")";
    throw std::runtime_error(os.str());
  }
  uint8_t u8() {
    if (pos_ >= size_) fail("pickle data ends early");
    return p_[pos_++];
  }
  void skip(std::size_t n) {
    if (size_ - pos_ < n) fail("pickle data ends early");
    pos_ += n;
  }
  uint64_t le(int n) {
    uint64_t v = 0;
    for (int k = 0; k < n; ++k) v |= static_cast<uint64_t>(u8()) << (8 * k);
    return v;
  }
  int64_t long_n(uint64_t n) {  // little-endian two's complement of n bytes
    if (n > 8) fail("integer wider than 64 bits");
    if (n == 0) return 0;
    uint64_t v = le(static_cast<int>(n));
    if (n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);
    return static_cast<int64_t>(v);
  }
  std::string bytes(uint64_t n) {
    if (size_ - pos_ < n) fail("pickle data ends early");
    std::string s(reinterpret_cast<const char*>(p_ + pos_), n);
    pos_ += n;
    return s;
  }
  std::string line() {
    std::string s;
    for (uint8_t c = u8(); c != '\n'; c = u8()) s.push_back(static_cast<char>(c));
    return s;
  }
  void need(std::size_t n) const {
    if (stack_.size() < n || (!marks_.empty() && stack_.size() - marks_.back() < n))
      fail("pickle stack underflow");
  }
  void push(Ref v) { stack_.push_back(std::move(v)); }
  Ref pop() {
    need(1);
    Ref v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  const Ref& top() const {
    need(1);
    return stack_.back();
  }
  std::vector<Ref> pop_mark() {
    if (marks_.empty()) fail("pickle MARK missing");
    const std::size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Ref> out(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return out;
  }
  const Ref& expect(const Ref& v, Value::Kind k) const {
    if (v->kind != k) fail(std::string("expected a ") + kind_name(k) + ", found " + kind_name(v->kind));
    return v;
  }
  void set_items(const Ref& d, const std::vector<Ref>& kv) {
    adopting(expect(d, Value::Kind::Dict), kv);
    if (kv.size() % 2) fail("odd number of dict items");
    for (std::size_t k = 0; k < kv.size(); k += 2) d->dict.emplace_back(kv[k], kv[k + 1]);
    nest(d, kv);
  }
  [[noreturn]] void limit(const std::string& what) const {
    std::ostringstream os;
    os << what << " (at byte " << op_pos_ << ")";
    throw PickleLimitError(os.str());
  }
  // `v` is about to take `children` (APPEND, SETITEM, BUILD: changing a value that exists):
  // refused when v is inside another value already, or would be inside itself. So no
  // shared_ptr cycle is ever made (its values would never be freed), and a value's depth is
  // final once it is held, which keeps every holder's depth (nest) exact: appending into a
  // list already held by another was a way to nest without the depth count seeing it.
  const Ref& adopting(const Ref& v, const std::vector<Ref>& children) const {
    if (v->held)
      limit(std::string("pickle changes a ") + kind_name(v->kind) +
            " already held by another value (a recursive or crafted structure, not a state dict)");
    for (const auto& c : children)
      if (c.get() == v.get())
        limit(std::string("pickle puts a ") + kind_name(v->kind) + " inside itself (not a state dict)");
    return v;
  }
  // `v` now holds `children`: its depth is one more than theirs, refused past kMaxDepth
  // before the tree gets deep enough to overflow the stack when it is destroyed; the
  // children are held from now on (see adopting).
  const Ref& nest(const Ref& v, const std::vector<Ref>& children) {
    for (const auto& c : children)
      if (c && c.get() != v.get()) {
        v->depth = std::max(v->depth, c->depth + 1);
        c->held = true;
      }
    if (v->depth > kMaxDepth)
      limit("pickle nesting deeper than " + std::to_string(kMaxDepth) + " levels (not a state dict)");
    return v;
  }
  void memo_put(uint64_t idx) { memo_[idx] = top(); }
  Ref memo_get(uint64_t idx) const {
    auto it = memo_.find(idx);
    if (it == memo_.end()) fail("pickle memo entry " + std::to_string(idx) + " missing");
    return it->second;
  }

  static std::vector<int64_t> ints(const Ref& tuple) {
    std::vector<int64_t> out;
    for (const auto& v : tuple->items) out.push_back(v->i);
    return out;
  }

  // The callables torch.save's pickles use; anything else becomes an opaque Object, which is
  // an error only if a tensor was expected there.
  Ref call(const Ref& fn, const Ref& args) {
    if (fn->kind != Value::Kind::Global) fail("REDUCE on a non-global callable");
    if (args->kind != Value::Kind::Tuple) fail("REDUCE arguments are not a tuple");
    const std::string& name = fn->s;
    const auto& a = args->items;
    if (name == "collections.OrderedDict") {
      auto d = make(Value::Kind::Dict);
      if (!a.empty() && a[0]->kind == Value::Kind::List)  // OrderedDict([(k, v), ...])
        for (const auto& kv : a[0]->items)
          if (kv->items.size() == 2) d->dict.emplace_back(kv->items[0], kv->items[1]);
      return d;
    }
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      if (a.size() < 4 || a[0]->kind != Value::Kind::Storage) fail(name + ": unexpected arguments");
      auto t = make(Value::Kind::Tensor);
      t->tensor = a[0]->tensor.as_strided(ints(a[2]), ints(a[3]), a[1]->i);
      return t;
    }
    if (name == "torch._utils._rebuild_parameter" ||
        name == "torch._utils._rebuild_parameter_with_state") {
      if (a.empty() || a[0]->kind != Value::Kind::Tensor) fail(name + ": unexpected arguments");
      return a[0];
    }
    if (name == "torch._tensor._rebuild_from_type_v2" || name == "torch._tensor._rebuild_from_type") {
      // (func, type, args, state): a Tensor subclass; rebuild the plain tensor.
      if (a.size() < 3) fail(name + ": unexpected arguments");
      return call(a[0], a[2]);
    }
    if (name == "torch.jit._pickle.restore_type_tag" || name.rfind("torch.jit._pickle.build_", 0) == 0) {
      if (a.empty()) fail(name + ": no arguments");
      return a[0];  // LibTorch's pickler tags containers with their static type
    }
    auto o = make_str(name, Value::Kind::Object);
    o->items = a;
    return o;
  }

  const uint8_t* p_;
  std::size_t size_;
  std::size_t pos_ = 0, op_pos_ = 0;
  uint8_t op_ = 0;
  const PersistentLoad& persistent_load_;
  std::size_t opcodes_ = 0;
  std::vector<Ref> stack_;
  std::vector<std::size_t> marks_;
  std::map<uint64_t, Ref> memo_;
};

c10::ScalarType storage_dtype(const std::string& type) {
  static const std::map<std::string, c10::ScalarType> types = {
      {"torch.FloatStorage", torch::kFloat},   {"torch.DoubleStorage", torch::kDouble},
      {"torch.HalfStorage", torch::kHalf},     {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kLong},     {"torch.IntStorage", torch::kInt},
      {"torch.ShortStorage", torch::kShort},   {"torch.CharStorage", torch::kChar},
      {"torch.ByteStorage", torch::kByte},     {"torch.BoolStorage", torch::kBool},
  };
  auto it = types.find(type);
  if (it == types.end()) throw std::runtime_error("unsupported storage type " + type);
  return it->second;
}

}  // namespace

Ref unpickle(const uint8_t* data, std::size_t size, const PersistentLoad& persistent_load) {
  return Unpickler(data, size, persistent_load).run();
}

void check_pickle_bounds(const std::string& path) {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error&) {
    return;  // not a zip archive: torch's own reader says so
  }
  for (const auto& name : reader->getAllRecords()) {
    if (name.size() < 4 || name.compare(name.size() - 4, 4, ".pkl") != 0) continue;
    auto [pkl, size] = reader->getRecord(name);
    const PersistentLoad none = [](const Ref&) { return make(Value::Kind::None); };
    try {
      unpickle(static_cast<const uint8_t*>(pkl.get()), size, none);
    } catch (const PickleLimitError& e) {
      throw PickleLimitError(name + ": " + e.what());
    } catch (const std::exception&) {
      // Opcodes or callables this reader does not model: torch's reader judges the rest.
    }
  }
}

Ref load_torch_save(const std::string& path) {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error&) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open the file");
    char head[2] = {0, 0};
    in.read(head, 2);
    if (static_cast<uint8_t>(head[0]) == 0x80)
      throw std::runtime_error(
          "legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it in Python "
          "with torch.save(torch.load(f), f2)");
    throw std::runtime_error("not a torch.save file (not a zip archive)");
  }
  if (!reader->hasRecord("data.pkl")) throw std::runtime_error("archive has no data.pkl");
  auto [pkl, pkl_size] = reader->getRecord("data.pkl");
  const ReadRecord read_record = [&reader](const std::string& name) -> std::optional<Record> {
    if (!reader->hasRecord(name)) return std::nullopt;
    auto [data, nbytes] = reader->getRecord(name);
    return Record{std::move(data), nbytes};
  };
  return unpickle_torch_save(static_cast<const uint8_t*>(pkl.get()), pkl_size, read_record);
}

Ref unpickle_torch_save(const uint8_t* pkl, std::size_t size, const ReadRecord& read_record) {
  std::map<std::string, Ref> storages;  // storages shared by several tensors load once
  PersistentLoad load = [&](const Ref& pid) -> Ref {
    if (pid->kind != Value::Kind::Tuple || pid->items.size() < 5 ||
        pid->items[0]->s != "storage")
      throw std::runtime_error("unexpected persistent id in data.pkl");
    const std::string key = pid->items[2]->s;
    auto found = storages.find(key);
    if (found != storages.end()) return found->second;
    const auto dtype = storage_dtype(pid->items[1]->s);
    const int64_t numel = pid->items[4]->i;
    const std::string record = "data/" + key;
    auto found_record = read_record(record);
    if (!found_record) throw std::runtime_error("archive lacks storage " + record);
    const std::size_t nbytes = found_record->size;
    // The record's size bounds the allocation: a crafted numel is refused before torch::empty
    // is asked for it (and before numel * element size can overflow).
    const std::size_t elem = c10::elementSize(dtype);
    if (numel < 0 || static_cast<uint64_t>(numel) > nbytes / elem)
      throw std::runtime_error("storage " + record + " holds " + std::to_string(nbytes) +
                               " bytes, too few for " + std::to_string(numel) + " elements of " +
                               std::to_string(elem) + " bytes");
    const std::size_t want = static_cast<std::size_t>(numel) * elem;
    auto t = torch::empty({numel}, torch::TensorOptions().dtype(dtype));
    if (want) std::memcpy(t.data_ptr(), found_record->data.get(), want);
    auto v = make(Value::Kind::Storage);
    v->tensor = t;
    storages[key] = v;
    return v;
  };
  return unpickle(pkl, size, load);
}

}  // namespace gradgate::zoo::pickle
