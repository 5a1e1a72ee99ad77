// PLACEHOLDER: replaced by the real architecture.
#include "gradgate/error.h"
#include "zoo/families.h"

namespace gradgate::zoo {

Member make_squeezenet1_1(const MemberOptions&) { throw ModelError("make_squeezenet1_1: not built yet"); }

}  // namespace gradgate::zoo
