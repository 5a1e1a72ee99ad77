// PLACEHOLDER: replaced by the real architecture.
#include "gradgate/error.h"
#include "zoo/families.h"

namespace gradgate::zoo {

Member make_googlenet(const MemberOptions&) { throw ModelError("make_googlenet: not built yet"); }

}  // namespace gradgate::zoo
