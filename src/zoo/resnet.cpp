// PLACEHOLDER: replaced by the real architecture.
#include "gradgate/error.h"
#include "zoo/families.h"

namespace gradgate::zoo {

Member make_resnet18(const MemberOptions&) { throw ModelError("make_resnet18: not built yet"); }
Member make_resnet50(const MemberOptions&) { throw ModelError("make_resnet50: not built yet"); }
Member make_resnet101(const MemberOptions&) { throw ModelError("make_resnet101: not built yet"); }

}  // namespace gradgate::zoo
