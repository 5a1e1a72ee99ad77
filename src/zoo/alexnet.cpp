// PLACEHOLDER: replaced by the real architecture.
#include "gradgate/error.h"
#include "zoo/families.h"

namespace gradgate::zoo {

Member make_alexnet(const MemberOptions&) { throw ModelError("make_alexnet: not built yet"); }

}  // namespace gradgate::zoo
