#include "train/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>

namespace gradgate::train_detail {

std::string format_seconds(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const long t = std::lround(s);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  return buf;
}

Progress::Progress(bool enabled) : enabled_(enabled), tty_(enabled && isatty(2)) {}

Progress::~Progress() {
  if (tty_ && last_width_) std::cerr << "\n";
}

void Progress::redraw_locked() {
  std::string line;
  for (const auto& [m, s] : status_) line += (line.empty() ? "" : " | ") + s;
  std::string padded = line;
  if (padded.size() < last_width_) padded.append(last_width_ - padded.size(), ' ');
  std::cerr << "\r" << padded << std::flush;
  last_width_ = line.size();
  last_draw_ = std::chrono::steady_clock::now();
}

void Progress::batch(const std::string& member, int epoch, int epochs, int b, int nb, double loss,
                     double eta) {
  if (!tty_) return;
  std::lock_guard<std::mutex> lock(mu_);
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s ep %d/%d batch %d/%d loss %.4f left %s", member.c_str(), epoch,
                epochs, b, nb, loss, format_seconds(eta).c_str());
  status_[member] = buf;
  if (std::chrono::steady_clock::now() - last_draw_ > std::chrono::milliseconds(200)) redraw_locked();
}

void Progress::epoch(const std::string& member, int epoch, int epochs, double train_loss,
                     const std::string& val_name, double val, double eta) {
  if (!enabled_) return;
  std::lock_guard<std::mutex> lock(mu_);
  char buf[200];
  std::snprintf(buf, sizeof buf, "%s ep %d/%d loss %.4f val %s %.4f left %s", member.c_str(), epoch,
                epochs, train_loss, val_name.c_str(), val, format_seconds(eta).c_str());
  if (tty_) {
    status_[member] = buf;
    redraw_locked();
  } else {
    std::cerr << buf << "\n" << std::flush;
  }
}

void Progress::note(const std::string& text) {
  if (!enabled_) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (tty_ && last_width_) {
    std::cerr << "\r" << std::string(last_width_, ' ') << "\r";
    last_width_ = 0;
  }
  std::cerr << text << "\n";
  if (tty_ && !status_.empty()) redraw_locked();
  std::cerr << std::flush;
}

void Progress::finish(const std::string& member) {
  std::lock_guard<std::mutex> lock(mu_);
  status_.erase(member);
}

}  // namespace gradgate::train_detail
