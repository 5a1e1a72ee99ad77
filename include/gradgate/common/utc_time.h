#pragma once
// The current time as ISO 8601 UTC, e.g. 2024-05-01T12:34:56Z (run.json dates, the models
// manifest's `created`). No torch here.
#include <string>

namespace gradgate {

std::string iso_utc_now();

}  // namespace gradgate
