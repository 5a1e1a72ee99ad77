// PLACEHOLDER: replaced by the real architecture.
#include "gradgate/error.h"
#include "zoo/families.h"

namespace gradgate::zoo {

Member make_xception(const MemberOptions&) { throw ModelError("make_xception: not built yet"); }

}  // namespace gradgate::zoo
