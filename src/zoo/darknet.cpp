// PLACEHOLDER: replaced by the real architecture.
#include "gradgate/error.h"
#include "zoo/families.h"

namespace gradgate::zoo {

Member make_darknet19(const MemberOptions&) { throw ModelError("make_darknet19: not built yet"); }
Member make_darknet53(const MemberOptions&) { throw ModelError("make_darknet53: not built yet"); }

}  // namespace gradgate::zoo
