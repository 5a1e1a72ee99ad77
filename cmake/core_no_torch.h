// The last header of gradgate_core's precompiled header (and of gradgate_core_tests', which
// reuses it): after it, the identifiers `c10` and `torch` are errors, so a core TU that
// includes any torch, ATen, c10 or caffe2 header (all of which reach namespace c10) fails
// to compile with 'attempt to use poisoned "c10"'. The include folders alone do not stop
// that: ATen/, c10/ and caffe2/ sit in /usr/include. See CMakeLists.txt, "the library".
#pragma once
#pragma GCC poison c10 torch
