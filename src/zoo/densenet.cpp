// PLACEHOLDER: replaced by the real architecture.
#include "gradgate/error.h"
#include "zoo/families.h"

namespace gradgate::zoo {

Member make_densenet201(const MemberOptions&) { throw ModelError("make_densenet201: not built yet"); }

}  // namespace gradgate::zoo
