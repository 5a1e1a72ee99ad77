// PLACEHOLDER: replaced by the real architecture.
#include "gradgate/error.h"
#include "zoo/families.h"

namespace gradgate::zoo {

Member make_nasnet_mobile(const MemberOptions&) { throw ModelError("make_nasnet_mobile: not built yet"); }
Member make_nasnet_large(const MemberOptions&) { throw ModelError("make_nasnet_large: not built yet"); }

}  // namespace gradgate::zoo
