#pragma once
// The registry creates any member of the zoo by name (member_info.h names them).
#include <string>
#include <vector>

#include "gradgate/zoo/member.h"
#include "gradgate/zoo/member_info.h"

namespace gradgate {

// Builds a member by its name in member_infos(); throws ModelError for an unknown name or
// options out of range.
Member make_member(const std::string& name, const MemberOptions& options = {});

}  // namespace gradgate
