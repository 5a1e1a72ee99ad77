# Seeds for tests/fuzz/fuzz_pickle.cpp: the data.pkl of small torch.save files (python3-torch,
# the Debian package: run with /usr/bin/python3), the deep TUPLE1 case, and the inputs
# that found or guard the reader's fixes (tests/test_reliability.cpp, "pickle").
#   /usr/bin/python3 tests/fuzz/make_pickle_corpus.py tests/fuzz/corpus/pickle
import io
import struct
import sys
import zipfile

import torch
out = sys.argv[1]
def pkl_of(obj, name):
    buf = io.BytesIO(); torch.save(obj, buf); buf.seek(0)
    z = zipfile.ZipFile(buf)
    for n in z.namelist():
        if n.endswith('/data.pkl'):
            open(f"{out}/{name}.pkl", "wb").write(z.read(n))
torch.manual_seed(0)
lin = torch.nn.Linear(3, 2)
pkl_of(lin.state_dict(), "linear_state_dict")
bn = torch.nn.BatchNorm2d(2)
pkl_of(bn.state_dict(), "batchnorm_state_dict")            # num_batches_tracked: int64, 0-d
pkl_of({"state_dict": lin.state_dict(), "epoch": 3, "lr": 1e-4, "name": "alexnet"}, "checkpoint")
pkl_of({"w": torch.zeros(2, 2, dtype=torch.half), "v": torch.arange(4)[1:3], "p": torch.nn.Parameter(torch.ones(2))}, "half_view_parameter")
pkl_of([1, -2, 3.5, True, None, b"ab", ("t", 1), {"k": [1, 2]}, 2**40], "plain_values")
# the deep-nesting case (#15 item 3), shortened to 2,000 TUPLE1s (past the 1,000 limit)
open(f"{out}/deep_tuple1.pkl", "wb").write(b"\x80\x02N" + b"\x85" * 2000 + b".")
# a list appended to itself, l.append([l]), a dict as its own BUILD state: shared_ptr cycles
open(f"{out}/self_append.pkl", "wb").write(b"\x80\x02]2a.")
open(f"{out}/cycle2.pkl", "wb").write(b"\x80\x02]q\x00]h\x00aa.")
open(f"{out}/build_self.pkl", "wb").write(b"\x80\x02}2b.")
# {'w': a tensor on a storage of 2**40 floats}: refused by the record's size before allocating
p = b"\x80\x02}X\x01\x00\x00\x00w" + b"ctorch._utils\n_rebuild_tensor_v2\n("
p += b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpu"
p += b"\x8a\x06\x00\x00\x00\x00\x00\x01" + b"tQ" + b"K\x00K\x01\x85K\x01\x85tRs."
open(f"{out}/numel_2_40.pkl", "wb").write(p)
# three lists, each appended into the one before after that one is held: nesting the depth
# count did not see (a 100,000-list chain passed the pre-scan)
def le4(i):
    return struct.pack("<I", i)
def chain(n):
    p = b"\x80\x02"
    for i in range(n):
        p += b"]r" + le4(i) + b"0"
    for i in range(n - 1):
        p += b"j" + le4(i) + b"j" + le4(i + 1) + b"a0"
    return p + b"j" + le4(0) + b"."
open(f"{out}/chain3.pkl", "wb").write(chain(3))
