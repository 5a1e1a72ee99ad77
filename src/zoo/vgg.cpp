// PLACEHOLDER: replaced by the real architecture.
#include "gradgate/error.h"
#include "zoo/families.h"

namespace gradgate::zoo {

Member make_vgg16(const MemberOptions&) { throw ModelError("make_vgg16: not built yet"); }
Member make_vgg19(const MemberOptions&) { throw ModelError("make_vgg19: not built yet"); }

}  // namespace gradgate::zoo
