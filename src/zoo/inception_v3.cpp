// PLACEHOLDER: replaced by the real architecture.
#include "gradgate/error.h"
#include "zoo/families.h"

namespace gradgate::zoo {

Member make_inception_v3(const MemberOptions&) { throw ModelError("make_inception_v3: not built yet"); }

}  // namespace gradgate::zoo
