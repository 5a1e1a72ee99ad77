#pragma once
// The registry creates any member of the zoo by name (member_info.h names them).
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "gradgate/cam_method.h"
#include "gradgate/zoo/member.h"
#include "gradgate/zoo/member_info.h"

namespace gradgate {

// Builds a member by its name in member_infos(); throws ModelError for an unknown name or
// options out of range.
Member make_member(const std::string& name, const MemberOptions& options = {});

// The Grad-CAM grid: rows and columns of `member`'s feature map for a side x side input,
// measured by one forward of features() (or fine_features() for the fine layer) on zeros (no
// graph). The grid decides how finely the gate can tell lungs from what lies beside them: one
// cell covers 1/(rows*cols) of the film.
cv::Size feature_grid(Member& member, int64_t side, CamLayer layer = CamLayer::Study);

}  // namespace gradgate
