#pragma once
// Running one job over several processes (ranks), on one machine or several: who the ranks
// are and where they meet. The settings follow torchrun's conventions (MASTER_ADDR,
// MASTER_PORT, WORLD_SIZE, RANK), so `srun` or `torchrun`-style launchers set them; options
// of the tools override the environment. The collectives themselves (PyTorch's c10d, Gloo)
// are in comm.h. No torch in this header.
#include <string>

#include "gradgate/enum_names.h"
#include "gradgate/error.h"

namespace gradgate {

// A rank could not meet the others, or lost them (a rank stopped, the network broke, a
// collective timed out). The message names the rank, the operation and the rendezvous.
class DistributedError : public Error {
 public:
  using Error::Error;
};

// How ensemble-train spreads a run over the ranks.
enum class DistMode {
  Data,     // every member is trained by all ranks together: each rank takes its share of
            // every batch, gradients are summed with all-reduce (data parallel)
  Members,  // each rank trains whole members (round robin); rank 0 then writes the folder
};

struct DistOptions {
  int world_size = 1;            // 1 = one process, no rendezvous
  int rank = 0;                  // 0 .. world_size-1; rank 0 hosts the rendezvous store
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;       // the rendezvous store's TCP port on master_addr
  // This rank's network interface for Gloo's connections (GLOO_SOCKET_IFNAME); empty: the
  // address the host name resolves to, else loopback (Gloo's own default).
  std::string interface;
  double timeout_seconds = 300;  // a rendezvous or collective waiting longer fails
  DistMode mode = DistMode::Data;

  bool distributed() const { return world_size > 1; }
};

// Fills each setting the caller left at `unset` (world_size 0, rank -1, empty address,
// port 0, empty interface) from the environment (WORLD_SIZE, RANK, MASTER_ADDR,
// MASTER_PORT, GLOO_SOCKET_IFNAME), then from the defaults above, and validates the result.
// Throws ConfigError naming the option or variable that is not a number or out of range.
DistOptions resolve_dist_options(DistOptions given);

// Checks ranges only (world_size >= 1, 0 <= rank < world_size, port 1..65535, timeout > 0).
void check_dist_options(const DistOptions& o);

// "rank 1 of 2 (rendezvous 10.0.0.1:29500)" for messages and logs.
std::string describe(const DistOptions& o);

// The mode's names (data | members), for options and messages.
const EnumNames<DistMode>& dist_mode_names();

}  // namespace gradgate
