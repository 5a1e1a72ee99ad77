#pragma once
// One progress line on stderr for a training run: rewritten in place (\r) on a terminal,
// a plain line per finished epoch otherwise (logs, CI). Thread-safe: members trained in
// parallel report through the same object. Private to src/train.
#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace gradgate::train_detail {

class Progress {
 public:
  explicit Progress(bool enabled);
  ~Progress();
  // Within an epoch (terminal only): batch b of nb, running loss.
  void batch(const std::string& member, int epoch, int epochs, int b, int nb, double loss,
             double eta_seconds);
  // End of an epoch: always printed (a line of its own when not on a terminal).
  void epoch(const std::string& member, int epoch, int epochs, double train_loss,
             const std::string& val_name, double val, double eta_seconds);
  // A message of its own line (resume notices, member summaries).
  void note(const std::string& text);
  void finish(const std::string& member);

 private:
  void redraw_locked();
  bool enabled_, tty_;
  std::mutex mu_;
  std::map<std::string, std::string> status_;  // member -> its part of the line
  std::size_t last_width_ = 0;
  std::chrono::steady_clock::time_point last_draw_{};
};

std::string format_seconds(double s);

}  // namespace gradgate::train_detail
