// Overlays and montages: the image, a member's Grad-CAM map and the lung-mask contour.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>

#include <opencv2/imgproc.hpp>

#include "gradgate/error.h"
#include "gradgate/report.h"
#include "report/format.h"

namespace gradgate {

namespace {

const cv::Scalar kGreen(0, 200, 0), kRed(0, 0, 230), kWhite(255, 255, 255);
const cv::Scalar kMaskGreen(0, 255, 0), kCaption(40, 40, 40), kBackground(0, 0, 0);
constexpr int kBorder = 3;

double font_scale(int width) { return std::clamp(width / 560.0, 0.35, 1.0); }
int line_height(int width) { return static_cast<int>(std::lround(18 * font_scale(width) / 0.4)); }

std::string label_name(const std::vector<std::string>& classes, int label) {
  if (label < 0) return "-";
  if (label < static_cast<int>(classes.size())) return classes[label];
  return "class" + std::to_string(label);
}

std::string fixed(double v, int decimals = 2) {
  if (!std::isfinite(v)) return "nan";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Shortens `text` with ".." until it fits `width` pixels.
std::string fit(std::string text, double scale, int width) {
  int base = 0;
  if (cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &base).width <= width) return text;
  while (text.size() > 1) {
    text.pop_back();
    if (cv::getTextSize(text + "..", cv::FONT_HERSHEY_SIMPLEX, scale, 1, &base).width <= width) break;
  }
  return text + "..";
}

struct CaptionLine {
  std::string text;
  cv::Scalar color = kWhite;
};

// A caption bar of caption_height(width) with two lines of text.
cv::Mat caption_bar(int width, const std::vector<CaptionLine>& lines) {
  cv::Mat bar(caption_height(width), width, CV_8UC3, kCaption);
  const double scale = font_scale(width);
  const int lh = line_height(width);
  const int thickness = scale >= 0.7 ? 2 : 1;
  for (size_t i = 0; i < lines.size() && i < 2; ++i) {
    // A long line is set smaller (down to 3/4) before it is shortened: "googlenet-places:
    // pneumonia 0.97" must keep its probability.
    int base = 0;
    const int w = cv::getTextSize(lines[i].text, cv::FONT_HERSHEY_SIMPLEX, scale, thickness, &base).width;
    const double s = w > width - 6 ? std::max(0.75 * scale, scale * (width - 6) / w) : scale;
    const std::string t = fit(lines[i].text, s, width - 6);
    const int y = 2 + static_cast<int>(i + 1) * lh - lh / 4;
    cv::putText(bar, t, {3, y}, cv::FONT_HERSHEY_SIMPLEX, s, lines[i].color, thickness, cv::LINE_AA);
  }
  return bar;
}

// The image at one display size, with the mask contour found once.
struct Base {
  cv::Size display;
  cv::Mat gray_bgr;  // CV_8UC3
  std::vector<std::vector<cv::Point>> contours;
};

Base make_base(const cv::Mat& gray, const cv::Mat& mask, cv::Size display) {
  Base b;
  b.display = display;
  cv::Mat g;
  if (gray.empty()) {
    g = cv::Mat(display, CV_8UC1, cv::Scalar(0));
  } else {
    cv::Mat f;
    if (gray.depth() == CV_8U) gray.convertTo(f, CV_32F, 1.0 / 255);
    else gray.convertTo(f, CV_32F);
    if (f.channels() != 1) cv::cvtColor(f, f, cv::COLOR_BGR2GRAY);
    cv::patchNaNs(f, 0);
    cv::resize(f, f, display, 0, 0, f.cols > display.width ? cv::INTER_AREA : cv::INTER_LINEAR);
    f.convertTo(g, CV_8U, 255.0);
  }
  cv::cvtColor(g, b.gray_bgr, cv::COLOR_GRAY2BGR);
  if (!mask.empty()) {
    cv::Mat m;
    cv::resize(mask, m, display, 0, 0, cv::INTER_NEAREST);
    if (m.depth() != CV_8U) m.convertTo(m, CV_8U, 255.0);
    cv::threshold(m, m, 0, 255, cv::THRESH_BINARY);
    cv::findContours(m, b.contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
  }
  return b;
}

// A map as the density of its positive mass relative to a uniform map (1 = uniform): the
// gate judges where a member's mass lies, not its raw magnitude, which differs by orders of
// magnitude between architectures. Empty when the map has no positive mass.
cv::Mat relative_density(const cv::Mat& map) {
  if (map.empty()) return {};
  cv::Mat f;
  map.convertTo(f, CV_32F);
  cv::patchNaNs(f, 0);
  cv::max(f, 0, f);
  const double mean = cv::mean(f)[0];
  if (!(mean > 0) || !std::isfinite(mean)) return {};
  return f / mean;
}

// The members' maps of one image as they are drawn. With RenderOptions::common_scale: each
// map's relative_density (computed once here) and `hi`, the largest density of any member,
// the one scale they are all drawn at; without it: the maps as they are and hi 0 (each at its
// own maximum).
struct DrawnMaps {
  std::vector<cv::Mat> maps;
  double hi = 0.0;
};
DrawnMaps drawn_maps(const ImageOutcome& o, const RenderOptions& options) {
  DrawnMaps d;
  for (const auto& m : o.members) {
    if (!options.common_scale) {
      d.maps.push_back(m.map);
      continue;
    }
    cv::Mat density = relative_density(m.map);
    double v = 0;
    if (!density.empty()) {
      // The scale is the largest density over blocks of an eighth of a tile's side (the map
      // area-averaged to a side of tile_side / 8, 28 px for 224): a map at the input's
      // resolution (saliency) peaks at single pixels hundreds of times above uniform, and a
      // scale set by such a pixel draws every blob a reader can see pale. A smooth Grad-CAM
      // map (8x8 cells) keeps nearly its maximum. Pixels above the scale saturate.
      const cv::Size blocks = display_size(density.size(), std::max(8, options.tile_side / 8));
      cv::Mat pooled = density;
      if (blocks.width < density.cols) cv::resize(density, pooled, blocks, 0, 0, cv::INTER_AREA);
      cv::minMaxLoc(pooled, nullptr, &v);
    }
    else if (!m.map.empty()) density = cv::Mat::zeros(m.map.size(), CV_32F);
    if (std::isfinite(v)) d.hi = std::max(d.hi, v);
    d.maps.push_back(density);
  }
  return d;
}

// `scale_max` > 0: `map` is a relative_density (drawn_maps), drawn at full colour at
// `scale_max`; else the map at its own maximum.
cv::Mat heat_on(const Base& b, const cv::Mat& map, const RenderOptions& o, double scale_max = 0.0) {
  cv::Mat out = b.gray_bgr.clone();
  if (!map.empty()) {
    cv::Mat f;
    if (scale_max > 0) {
      f = map;
    } else {
      map.convertTo(f, CV_32F);
      cv::patchNaNs(f, 0);
      cv::max(f, 0, f);
    }
    double hi = 0;
    cv::minMaxLoc(f, nullptr, &hi);
    if (scale_max > 0 && hi > 0) hi = scale_max;  // above it saturates at full colour (convertTo)
    if (hi > 0 && std::isfinite(hi)) {
      cv::Mat shown, u8, color;  // f may share the caller's density (drawn_maps): not written
      cv::resize(f, shown, b.display, 0, 0, f.cols > b.display.width ? cv::INTER_AREA : cv::INTER_LINEAR);
      shown.convertTo(u8, CV_8U, 255.0 / hi);
      cv::applyColorMap(u8, color, o.colormap);
      cv::addWeighted(out, 1.0 - o.alpha, color, o.alpha, 0.0, out);
    }
  }
  if (!b.contours.empty())
    cv::drawContours(out, b.contours, -1, kMaskGreen, std::max(1, b.display.width / 224), cv::LINE_AA);
  return out;
}

cv::Mat stack(const cv::Mat& top, const cv::Mat& bottom) {
  cv::Mat out;
  cv::vconcat(top, bottom, out);
  return out;
}

// How the gate treated a member on this image. A member can pass the gate and still not vote
// (too few others passed and the fallback abstained): that is not the same as being dropped.
struct GateMark {
  std::string text;
  cv::Scalar text_color, border;
};
GateMark gate_mark(const MemberOutcome& m) {
  const cv::Scalar kAmber(0, 190, 255);
  if (m.kept) return {m.passed ? "KEPT" : "KEPT (fallback)", cv::Scalar(120, 255, 120), kGreen};
  if (m.passed) return {"PASSED (no quorum)", kAmber, kAmber};
  return {"DROPPED", cv::Scalar(90, 90, 255), kRed};
}

std::vector<CaptionLine> member_caption(const MemberOutcome& m, const std::vector<std::string>& classes) {
  std::string first = (m.untrained ? "UNTRAINED " : "") + m.name + ": " + label_name(classes, m.label) +
                      " " + fixed(m.probability);
  std::string second = m.share.status == GateStatus::Ok
                           ? "share " + report_detail::floored(m.share.share, 3) +
                                 " lift " + report_detail::floored(m.share.lift, 2)
                           : std::string(to_string(m.share.status));
  const GateMark mark = gate_mark(m);
  return {{first, kWhite}, {second + "  " + mark.text, mark.text_color}};
}

// Word-wraps `text` into at most `max_lines` lines of `width` pixels (the last one shortened).
std::vector<std::string> wrap(const std::string& text, double scale, int width, size_t max_lines) {
  std::vector<std::string> lines;
  std::istringstream words(text);
  std::string word, line;
  int base = 0;
  const auto fits = [&](const std::string& t) {
    return cv::getTextSize(t, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &base).width <= width;
  };
  std::string rest;
  while (words >> word) {
    if (lines.size() + 1 == max_lines) {  // the last line takes the rest
      rest += (rest.empty() && line.empty() ? "" : " ") + word;
      continue;
    }
    const std::string candidate = line.empty() ? word : line + " " + word;
    if (fits(candidate) || line.empty()) {
      line = candidate;
    } else {
      lines.push_back(line);
      line = word;
    }
  }
  if (lines.size() + 1 == max_lines) line += rest;
  if (!line.empty()) lines.push_back(fit(line, scale, width));
  return lines;
}

// A red band across the middle of `picture` saying the weights were random: a figure of an
// untrained member (or a decision it voted in) must never pass for a result.
void stamp_untrained(cv::Mat& picture) {
  const double scale = font_scale(picture.cols) * 1.3;
  const int lh = static_cast<int>(line_height(picture.cols) * 1.3);
  const int y = std::max(0, picture.rows / 2 - lh);
  cv::Mat band = picture(cv::Rect(0, y, picture.cols, std::min(picture.rows - y, 2 * lh)));
  band.setTo(kRed);
  cv::putText(picture, fit("UNTRAINED - RANDOM WEIGHTS", scale, picture.cols - 6), {3, y + lh},
              cv::FONT_HERSHEY_SIMPLEX, scale, kWhite, 1, cv::LINE_AA);
  cv::putText(picture, fit("not a result", scale, picture.cols - 6), {3, y + 2 * lh - lh / 4},
              cv::FONT_HERSHEY_SIMPLEX, scale, kWhite, 1, cv::LINE_AA);
}

// A horizontal colour bar of the colour map from 0 to `hi` (the shared scale's maximum).
void draw_colour_bar(cv::Mat& area, cv::Rect where, double hi, const RenderOptions& o) {
  cv::Mat ramp(1, where.width, CV_8UC1);
  for (int x = 0; x < where.width; ++x) ramp.at<uint8_t>(0, x) = static_cast<uint8_t>(255 * x / std::max(1, where.width - 1));
  cv::Mat color;
  cv::applyColorMap(ramp, color, o.colormap);
  cv::resize(color, color, where.size(), 0, 0, cv::INTER_NEAREST);
  color.copyTo(area(where));
  const double scale = font_scale(area.cols) * 0.8;
  const std::string right = fixed(hi, 1) + "x uniform";
  int base = 0;
  const int rw = cv::getTextSize(right, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &base).width;
  const int y = where.y + where.height - 2;
  cv::putText(area, "0", {where.x + 2, y}, cv::FONT_HERSHEY_SIMPLEX, scale, kWhite, 1, cv::LINE_AA);
  cv::putText(area, right, {where.x + where.width - rw - 2, y}, cv::FONT_HERSHEY_SIMPLEX, scale,
              cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
}

// The decision tile's picture (tile_side square): the image with its mask contour, fitted
// above a band holding `notes` (wrapped, at most 5 lines) and, when `hi` > 0, the colour bar.
cv::Mat decision_picture(const ImageOutcome& o, const RenderOptions& options,
                         const std::vector<std::string>& notes, double hi) {
  const int side = options.tile_side;
  const int lh = line_height(side);
  const int bar_h = hi > 0 ? lh : 0;
  const int band_h = std::min(side / 2, 4 * lh + bar_h + 6);
  const cv::Size size = o.gray.empty() ? cv::Size(side, side) : o.gray.size();
  const double s = std::min(static_cast<double>(side) / size.width, static_cast<double>(side - band_h) / size.height);
  const cv::Size display(std::max(1, static_cast<int>(size.width * s)), std::max(1, static_cast<int>(size.height * s)));
  cv::Mat picture(side, side, CV_8UC3, kCaption);
  const cv::Mat image = heat_on(make_base(o.gray, o.mask.mask, display), cv::Mat(), options);
  image.copyTo(picture(cv::Rect((side - display.width) / 2, 0, display.width, display.height)));
  const double scale = font_scale(side);
  int y = side - band_h + lh - lh / 4;
  int lines_left = (band_h - bar_h - 4) / lh;
  for (size_t i = 0; i < notes.size() && lines_left > 0; ++i) {
    const auto wrapped = wrap(notes[i], scale, side - 6, static_cast<size_t>(i == 0 ? 1 : lines_left));
    for (const auto& line : wrapped) {
      if (lines_left-- <= 0) break;
      cv::putText(picture, line, {3, y}, cv::FONT_HERSHEY_SIMPLEX, scale, kWhite, 1, cv::LINE_AA);
      y += lh;
    }
  }
  if (hi > 0) draw_colour_bar(picture, cv::Rect(3, side - bar_h - 2, side - 6, bar_h), hi, options);
  return picture;
}

bool any_untrained(const ImageOutcome& o) {
  for (const auto& m : o.members)
    if (m.untrained) return true;
  return false;
}

// Places `content` (tile_side-fitted image area + caption) inside a bordered tile.
cv::Mat tile(const cv::Mat& picture, const std::vector<CaptionLine>& caption, const cv::Scalar& border,
             const RenderOptions& o) {
  const int side = o.tile_side;
  cv::Mat inner(side, side, CV_8UC3, kBackground);
  const int x = (side - picture.cols) / 2, y = (side - picture.rows) / 2;
  picture.copyTo(inner(cv::Rect(x, y, picture.cols, picture.rows)));
  cv::Mat body = stack(inner, caption_bar(side, caption));
  cv::Mat out;
  cv::copyMakeBorder(body, out, kBorder, kBorder, kBorder, kBorder, cv::BORDER_CONSTANT, border);
  return out;
}

}  // namespace

const EnumNames<int>& colormap_names() {
  static const EnumNames<int> table("colour map", {{cv::COLORMAP_JET, "jet"},
                                                   {cv::COLORMAP_TURBO, "turbo"},
                                                   {cv::COLORMAP_INFERNO, "inferno"},
                                                   {cv::COLORMAP_VIRIDIS, "viridis"}});
  return table;
}

int colormap_from_string(const std::string& name) { return colormap_names().from_string(name); }

cv::Size display_size(cv::Size size, int side) {
  if (size.width <= 0 || size.height <= 0) return {side, side};
  const double s = static_cast<double>(side) / std::max(size.width, size.height);
  return {std::max(1, static_cast<int>(std::lround(size.width * s))),
          std::max(1, static_cast<int>(std::lround(size.height * s)))};
}

int caption_height(int width) { return 2 * line_height(width) + 6; }

cv::Mat render_heat(const cv::Mat& gray, const cv::Mat& map, const cv::Mat& mask, cv::Size display,
                    const RenderOptions& options) {
  return heat_on(make_base(gray, mask, display), map, options);
}

std::vector<cv::Mat> render_overlays(const ImageOutcome& o, const std::vector<std::string>& classes,
                                     const RenderOptions& options) {
  const Base b = make_base(o.gray, o.mask.mask, display_size(o.gray.size(), options.overlay_side));
  std::vector<cv::Mat> out;
  out.reserve(o.members.size());
  const DrawnMaps drawn = drawn_maps(o, options);
  for (size_t i = 0; i < o.members.size(); ++i) {
    const auto& m = o.members[i];
    cv::Mat picture = heat_on(b, drawn.maps[i], options, drawn.hi);
    if (m.untrained) stamp_untrained(picture);
    out.push_back(stack(picture, caption_bar(b.display.width, member_caption(m, classes))));
  }
  return out;
}

cv::Mat render_overlay(const ImageOutcome& o, size_t member, const std::vector<std::string>& classes,
                       const RenderOptions& options) {
  if (member >= o.members.size()) throw std::out_of_range("render_overlay: no member " + std::to_string(member));
  const Base b = make_base(o.gray, o.mask.mask, display_size(o.gray.size(), options.overlay_side));
  const auto& m = o.members[member];
  const DrawnMaps drawn = drawn_maps(o, options);
  cv::Mat picture = heat_on(b, drawn.maps[member], options, drawn.hi);
  if (m.untrained) stamp_untrained(picture);
  return stack(picture, caption_bar(b.display.width, member_caption(m, classes)));
}

MontageLayout montage_layout(size_t members, const RenderOptions& o) {
  MontageLayout l;
  l.tiles = static_cast<int>(members) + 1;
  l.columns = o.montage_columns > 0 ? std::min(o.montage_columns, l.tiles)
                                    : static_cast<int>(std::ceil(std::sqrt(static_cast<double>(l.tiles))));
  l.rows = (l.tiles + l.columns - 1) / l.columns;
  l.tile_width = o.tile_side + 2 * kBorder;
  l.tile_height = o.tile_side + caption_height(o.tile_side) + 2 * kBorder;
  return l;
}

cv::Mat render_montage(const ImageOutcome& o, const std::vector<std::string>& classes, const RenderOptions& options) {
  const MontageLayout l = montage_layout(o.members.size(), options);
  cv::Mat canvas(l.size(), CV_8UC3, kBackground);
  const Base b = make_base(o.gray, o.mask.mask, display_size(o.gray.size(), options.tile_side));
  const auto place = [&](int index, const cv::Mat& t) {
    const int r = index / l.columns, c = index % l.columns;
    t.copyTo(canvas(cv::Rect(c * l.tile_width, r * l.tile_height, t.cols, t.rows)));
  };

  // The decision tile.
  int kept = 0;
  for (const auto& m : o.members) kept += m.kept ? 1 : 0;
  const std::string counts = "kept " + std::to_string(kept) + "/" + std::to_string(o.members.size()) +
                             ", passed " + std::to_string(o.gate.num_passed);
  std::vector<CaptionLine> decision;
  std::string reason;  // in full in the picture's text band
  if (!o.ok) {
    reason = o.error;
    decision = {{"ERROR", kRed}, {"the image could not be classified", kWhite}};
  } else if (o.vote.abstained || o.vote.label < 0) {
    reason = !o.vote.reason.empty() ? o.vote.reason : o.gate.reason;
    decision = {{"ABSTAIN", cv::Scalar(0, 200, 255)}, {counts, kWhite}};
  } else {
    decision = {{"DECISION: " + label_name(classes, o.vote.label) + " " + fixed(o.vote.probability), kWhite},
                {counts + (o.gate.fallback_used ? " (fallback)" : ""), kWhite}};
  }
  const bool untrained = any_untrained(o);
  if (untrained) decision[0] = {"UNTRAINED: " + decision[0].text, kRed};
  const DrawnMaps drawn = drawn_maps(o, options);
  const double hi = drawn.hi;
  // The image above a text band: its file name, then the abstention's (or error's) reason in
  // full, or the gate's setting; at the bottom the colour bar of the members' shared scale.
  // No text covers the lungs.
  std::vector<std::string> notes = {o.image.filename().string()};
  if (!reason.empty()) notes.push_back(reason);
  else if (!options.gate_text.empty()) notes.push_back("gate: " + options.gate_text);
  if (!o.credit.empty()) notes.push_back("image: " + o.credit);
  cv::Mat picture = decision_picture(o, options, notes, hi);
  if (untrained) stamp_untrained(picture);
  place(0, tile(picture, decision, kWhite, options));

  for (size_t i = 0; i < o.members.size(); ++i) {
    const auto& m = o.members[i];
    cv::Mat member_picture = heat_on(b, drawn.maps[i], options, hi);
    if (m.untrained) stamp_untrained(member_picture);
    place(static_cast<int>(i) + 1, tile(member_picture, member_caption(m, classes), gate_mark(m).border, options));
  }
  return canvas;
}

}  // namespace gradgate
