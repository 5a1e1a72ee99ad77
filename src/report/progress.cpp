// A progress bar on stderr that behaves in logs as well as on terminals.
#include <unistd.h>

#include <cmath>

#include "gradgate/report.h"

namespace gradgate {

namespace {
std::string duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const long t = std::lround(s);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}
}  // namespace

ProgressBar::ProgressBar(size_t total, std::string label, Mode mode, std::FILE* out)
    : total_(total), label_(std::move(label)), mode_(mode), out_(out) {
  if (mode_ == Mode::Auto) mode_ = (out_ && ::isatty(::fileno(out_))) ? Mode::Terminal : Mode::Lines;
  if (!out_) mode_ = Mode::Off;
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

ProgressBar::~ProgressBar() { finish(); }

std::string ProgressBar::line(size_t done, double seconds) const {
  const double rate = seconds > 0 ? done / seconds : 0.0;
  char buf[160];
  std::string s = label_.empty() ? "" : label_ + " ";
  if (total_ > 0) {
    constexpr int kWidth = 30;
    const size_t shown = std::min(done, total_);
    const int filled = static_cast<int>(kWidth * shown / total_);
    s += "[" + std::string(filled, '#') + std::string(kWidth - filled, ' ') + "] ";
    std::snprintf(buf, sizeof buf, "%zu/%zu  %.1f img/s", done, total_, rate);
    s += buf;
    if (done >= total_) s += "  " + duration(seconds);
    else s += "  ETA " + (rate > 0 ? duration((total_ - done) / rate) : std::string("?"));
  } else {
    std::snprintf(buf, sizeof buf, "%zu  %.1f img/s  %s", done, rate, duration(seconds).c_str());
    s += buf;
  }
  return s;
}

void ProgressBar::draw(size_t done, bool final) {
  const auto now = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(now - start_).count();
  if (mode_ == Mode::Terminal) {
    if (!final && now - last_draw_ < std::chrono::milliseconds(100) && (total_ == 0 || done < total_)) return;
    last_draw_ = now;
    std::fprintf(out_, "\r%s\033[K%s", line(done, seconds).c_str(), final ? "\n" : "");
    std::fflush(out_);
  } else if (mode_ == Mode::Lines) {
    // One line per 10% (unknown total: at 1, 10, 100, ... and every such multiple).
    int step;
    if (total_ > 0) {
      step = static_cast<int>(10 * std::min(done, total_) / total_);
    } else {
      size_t unit = 1;
      while (unit * 10 <= done) unit *= 10;
      step = static_cast<int>(done / unit + 10 * std::log10(static_cast<double>(unit)));
    }
    if (!final && step == last_decile_) return;
    if (final && step == last_decile_ && total_ > 0 && done >= total_) return;  // already printed
    last_decile_ = step;
    std::fprintf(out_, "%s\n", line(done, seconds).c_str());
    std::fflush(out_);
  }
}

void ProgressBar::update(size_t done) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_ || done <= done_) return;
  done_ = done;
  draw(done_, false);
}

void ProgressBar::tick(size_t n) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_ || n == 0) return;
  done_ += n;
  draw(done_, false);
}

void ProgressBar::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  finished_ = true;
  draw(done_, true);
}

}  // namespace gradgate
