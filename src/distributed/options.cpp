// Who the ranks are and where they meet: options first, then torchrun's environment
// variables, then the defaults. Torch-free (core).
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "gradgate/distributed.h"

namespace gradgate {

namespace {

// An integer from the environment variable `name`, or `fallback` when it is unset or empty.
long env_int(const char* name, long fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  errno = 0;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (errno != 0 || *end != '\0')
    throw ConfigError(std::string("environment variable ") + name + "='" + v +
                      "': expected an integer");
  return x;
}

std::string env_text(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

int narrow(long x, const char* what) {
  if (x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max())
    throw ConfigError(std::string(what) + " " + std::to_string(x) + " is out of range");
  return static_cast<int>(x);
}

}  // namespace

const EnumNames<DistMode>& dist_mode_names() {
  static const EnumNames<DistMode> t("distribution mode",
                                     {{DistMode::Data, "data"}, {DistMode::Members, "members"}});
  return t;
}

void check_dist_options(const DistOptions& o) {
  if (o.world_size < 1)
    throw ConfigError("--world-size (WORLD_SIZE) " + std::to_string(o.world_size) +
                      ": expected at least 1");
  if (o.rank < 0 || o.rank >= o.world_size)
    throw ConfigError("--rank (RANK) " + std::to_string(o.rank) + ": expected 0.." +
                      std::to_string(o.world_size - 1) + " for a world of " +
                      std::to_string(o.world_size));
  if (o.master_port < 1 || o.master_port > 65535)
    throw ConfigError("--master-port (MASTER_PORT) " + std::to_string(o.master_port) +
                      ": expected 1..65535");
  if (o.master_addr.empty()) throw ConfigError("--master-addr (MASTER_ADDR) is empty");
  if (!(o.timeout_seconds > 0) || !std::isfinite(o.timeout_seconds))
    throw ConfigError("--dist-timeout: expected a positive number of seconds");
}

DistOptions resolve_dist_options(DistOptions o) {
  if (o.world_size == 0) o.world_size = narrow(env_int("WORLD_SIZE", 1), "WORLD_SIZE");
  if (o.rank < 0) o.rank = narrow(env_int("RANK", 0), "RANK");
  if (o.master_addr.empty()) o.master_addr = env_text("MASTER_ADDR", "127.0.0.1");
  if (o.master_port == 0) o.master_port = narrow(env_int("MASTER_PORT", 29500), "MASTER_PORT");
  if (o.interface.empty()) o.interface = env_text("GLOO_SOCKET_IFNAME", "");
  check_dist_options(o);
  return o;
}

std::string describe(const DistOptions& o) {
  return "rank " + std::to_string(o.rank) + " of " + std::to_string(o.world_size) +
         " (rendezvous " + o.master_addr + ":" + std::to_string(o.master_port) + ")";
}

}  // namespace gradgate
