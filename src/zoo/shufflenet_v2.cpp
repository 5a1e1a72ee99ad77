// PLACEHOLDER: replaced by the real architecture.
#include "gradgate/error.h"
#include "zoo/families.h"

namespace gradgate::zoo {

Member make_shufflenet_v2_x1_0(const MemberOptions&) { throw ModelError("make_shufflenet_v2_x1_0: not built yet"); }

}  // namespace gradgate::zoo
