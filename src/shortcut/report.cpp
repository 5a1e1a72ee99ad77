// The shortcut benchmark's verdict, recomputed from the saved maps and the marker masks.
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <map>
#include <random>
#include <sstream>

#include "dataset/csv_reader.h"
#include "gradgate/error.h"
#include "gradgate/lung_mask.h"
#include "gradgate/report.h"
#include "gradgate/shortcut_report.h"
#include "gradgate/vote.h"

namespace gradgate {

namespace fs = std::filesystem;
using dataset_detail::CsvReader;

namespace {

// One CSV file as rows of named fields.
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::size_t column(const std::string& name, const fs::path& file) const {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) throw Error(file.string() + ": no column '" + name + "'");
    return static_cast<std::size_t>(it - header.begin());
  }
};

Table read_table(const fs::path& file) {
  CsvReader csv(file);
  Table t;
  if (!csv.next(t.header)) throw Error(file.string() + ": empty file");
  std::vector<std::string> row;
  while (csv.next(row)) {
    if (row.size() != t.header.size()) csv.fail("row has " + std::to_string(row.size()) + " fields");
    t.rows.push_back(row);
  }
  return t;
}

std::string stem_of(const std::string& path) { return fs::path(path).stem().string(); }

struct Truth {
  std::string cls;  // the image's class
  bool marked = false;
  fs::path marker;  // marker mask (reversed, marked)
};

// One image of one run: each member's class probabilities and in-lung share, and (reversed,
// marked) the share of its mass on the marker.
struct ImageRow {
  std::string stem;
  int label = -1;  // truth
  bool marked = false;
  std::vector<std::vector<double>> probs;
  std::vector<LungShare> shares;
  std::vector<double> marker_share;  // share of the map's mass on the marker; NaN unmarked
  std::vector<double> marker_lift;   // marker_share / the marker's area fraction; NaN unmarked
};

struct Run {
  std::vector<std::string> members, classes;
  std::vector<ImageRow> images;
};

Run read_run(const fs::path& dir, const std::map<std::string, Truth>& truth) {
  const fs::path csv = dir / "results.csv";
  const Table t = read_table(csv);
  Run run;
  for (const auto& h : t.header) {
    if (h.rfind("prob_", 0) == 0) run.classes.push_back(h.substr(5));
    const std::string suffix = "_status";  // <member>_status: one per member (num_kept is not)
    if (h.size() > suffix.size() && h.compare(h.size() - suffix.size(), suffix.size(), suffix) == 0)
      run.members.push_back(h.substr(0, h.size() - suffix.size()));
  }
  if (run.classes.size() != 2)
    throw Error(csv.string() + ": the shortcut report reads binary tasks (members' two-class "
                "probabilities from <member>_label/_prob); this run has " +
                std::to_string(run.classes.size()) + " classes");
  if (run.members.empty()) throw Error(csv.string() + ": no member columns");
  const std::size_t c_stem = t.column("stem", csv), c_status = t.column("status", csv);
  std::vector<std::size_t> c_label, c_prob;  // per member, found once
  for (const auto& m : run.members) {
    c_label.push_back(t.column(m + "_label", csv));
    c_prob.push_back(t.column(m + "_prob", csv));
  }
  for (const auto& r : t.rows) {
    if (r[c_status] != "ok") throw Error(csv.string() + ": image " + r[0] + " failed in the run");
    const std::string stem = r[c_stem];
    const auto it = truth.find(stem);
    if (it == truth.end()) throw Error(csv.string() + ": image " + r[0] + " is not in markers.csv");
    ImageRow img;
    img.stem = stem;
    const auto cls = std::find(run.classes.begin(), run.classes.end(), it->second.cls);
    if (cls == run.classes.end())
      throw Error(csv.string() + ": class '" + it->second.cls + "' of " + stem + " is not the run's");
    img.label = static_cast<int>(cls - run.classes.begin());
    img.marked = it->second.marked;
    const fs::path maps = dir / "maps" / stem;
    const cv::Mat mask = read_npy(maps / "mask.npy");
    cv::Mat marker;
    if (img.marked) {
      marker = read_mask_file(it->second.marker, std::nullopt, nullptr);
      if (marker.size() != mask.size())
        throw Error(it->second.marker.string() + ": not the image's size");
    }
    for (std::size_t j = 0; j < run.members.size(); ++j) {
      const std::string& m = run.members[j];
      const std::string label = r[c_label[j]];
      const double p = std::stod(r[c_prob[j]]);
      const int k = label == run.classes[0] ? 0 : label == run.classes[1] ? 1 : -1;
      if (k < 0) throw Error(csv.string() + ": member " + m + " has label '" + label + "'");
      std::vector<double> probs(2);
      probs[k] = p;
      probs[1 - k] = 1.0 - p;
      img.probs.push_back(probs);
      const cv::Mat map = read_npy(maps / (m + ".npy"));
      img.shares.push_back(lung_share(map, mask));
      // The marker mask in the lung mask's place: lung_share's share and lift are then the
      // map's mass on the marker and its concentration there.
      double share = std::numeric_limits<double>::quiet_NaN(), lift = share;
      if (img.marked) {
        const LungShare on_marker = lung_share(map, marker);
        const bool ok = on_marker.status == GateStatus::Ok;
        share = ok ? on_marker.share : 0.0;
        lift = ok ? on_marker.lift : 0.0;
      }
      img.marker_share.push_back(share);
      img.marker_lift.push_back(lift);
    }
    run.images.push_back(std::move(img));
  }
  return run;
}

// Accuracy over the answered images with a 95% percentile bootstrap over images.
Interval accuracy(const std::vector<int>& correct, const std::vector<bool>& answered,
                  const ShortcutEvalOptions& o) {
  const auto acc = [&](const std::vector<std::size_t>& idx) {
    double n = 0, c = 0;
    for (std::size_t i : idx)
      if (answered[i]) ++n, c += correct[i];
    return n > 0 ? c / n : std::numeric_limits<double>::quiet_NaN();
  };
  std::vector<std::size_t> all(correct.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  Interval r;
  r.value = acc(all);
  std::mt19937_64 rng(o.bootstrap_seed);
  std::uniform_int_distribution<std::size_t> pick(0, all.size() - 1);
  std::vector<double> reps;
  std::vector<std::size_t> idx(all.size());
  for (int b = 0; b < o.bootstrap_reps && !all.empty(); ++b) {
    for (auto& i : idx) i = pick(rng);
    const double a = acc(idx);
    if (!std::isnan(a)) reps.push_back(a);
  }
  if (!reps.empty()) {
    std::sort(reps.begin(), reps.end());
    r.lo = reps[static_cast<std::size_t>(0.025 * (reps.size() - 1))];
    r.hi = reps[static_cast<std::size_t>(0.975 * (reps.size() - 1))];
  }
  return r;
}

// The ensemble on one run under `gate` (nullptr: the plain soft vote of every member).
Interval ensemble_accuracy(const Run& run, const GateOptions* gate, const ShortcutEvalOptions& o,
                           double* coverage) {
  std::vector<int> correct;
  std::vector<bool> answered;
  for (const auto& img : run.images) {
    VoteResult v;
    if (gate) {
      v = vote_gated(img.probs, gate_decide(img.shares, *gate), VoteRule::Soft);
    } else {
      v = vote(img.probs, VoteRule::Soft);
    }
    answered.push_back(!v.abstained);
    correct.push_back(!v.abstained && v.label == img.label);
  }
  if (coverage)
    *coverage = run.images.empty() ? 0.0
                                   : static_cast<double>(std::count(answered.begin(), answered.end(), true)) /
                                         run.images.size();
  return accuracy(correct, answered, o);
}

}  // namespace

ShortcutReport shortcut_report(const fs::path& data, const fs::path& clean_run,
                               const fs::path& reversed_run, const ShortcutEvalOptions& o) {
  ShortcutReport rep;
  rep.options = o;
  // Truth per (variant, stem) from markers.csv.
  const fs::path markers_csv = data / "markers.csv";
  const Table markers = read_table(markers_csv);
  const std::size_t c_image = markers.column("image", markers_csv),
                    c_variant = markers.column("variant", markers_csv),
                    c_marked = markers.column("marked", markers_csv),
                    c_marker = markers.column("marker_mask", markers_csv),
                    c_class = markers.column("class", markers_csv);
  std::map<std::string, Truth> clean_truth, reversed_truth;
  for (const auto& r : markers.rows) {
    Truth t;
    t.cls = r[c_class];
    t.marked = r[c_marked] == "1";
    if (t.marked) t.marker = data / r[c_marker];
    if (r[c_variant] == "clean") clean_truth[stem_of(r[c_image])] = t;
    if (r[c_variant] == "reversed") reversed_truth[stem_of(r[c_image])] = t;
  }
  const Run clean = read_run(clean_run, clean_truth);
  const Run reversed = read_run(reversed_run, reversed_truth);
  if (clean.members != reversed.members)
    throw Error("the clean and reversed runs have different members");
  rep.classes = reversed.classes;
  // The marked class: the one most training images with a marker have.
  std::map<std::string, int> marked_train;
  for (const auto& r : markers.rows)
    if (r[c_variant] == "train" && r[c_marked] == "1") ++marked_train[r[c_class]];
  if (marked_train.empty()) throw Error(markers_csv.string() + ": no marked training image");
  rep.marked_class = std::max_element(marked_train.begin(), marked_train.end(),
                                      [](const auto& a, const auto& b) { return a.second < b.second; })->first;
  const auto it_marked = std::find(rep.classes.begin(), rep.classes.end(), rep.marked_class);
  if (it_marked == rep.classes.end())
    throw Error(markers_csv.string() + ": the marked class '" + rep.marked_class + "' is not the runs'");
  const std::size_t a = static_cast<std::size_t>(it_marked - rep.classes.begin());
  // Per reversed image and member: the marker's effect on p(marked class), against the same
  // film's clean copy, and whether that counts as "used".
  std::map<std::string, const ImageRow*> clean_by_stem;
  for (const auto& img : clean.images) clean_by_stem[img.stem] = &img;
  const std::size_t n_members = reversed.members.size();
  std::vector<std::vector<double>> effect(reversed.images.size(), std::vector<double>(n_members, 0.0));
  std::vector<std::vector<bool>> used(reversed.images.size(), std::vector<bool>(n_members, false));
  for (std::size_t i = 0; i < reversed.images.size(); ++i) {
    const ImageRow& img = reversed.images[i];
    if (!img.marked) continue;
    const auto c = clean_by_stem.find(img.stem);
    if (c == clean_by_stem.end())
      throw Error(clean_run.string() + ": no clean copy of " + img.stem + " (the reversed run's image)");
    for (std::size_t m = 0; m < n_members; ++m) {
      const auto& pr = img.probs[m];
      const auto& pc = c->second->probs[m];
      effect[i][m] = pr[a] - pc[a];
      const bool to_marked = pr[a] > pr[1 - a] && !(pc[a] > pc[1 - a]);
      used[i][m] = effect[i][m] >= o.used_delta || to_marked;
    }
  }
  rep.clean_images = static_cast<int>(clean.images.size());
  rep.reversed_images = static_cast<int>(reversed.images.size());
  for (const auto& img : reversed.images) rep.marked_reversed += img.marked;

  for (std::size_t m = 0; m < n_members; ++m) {
    ShortcutMemberFigures f;
    f.name = reversed.members[m];
    const auto member_acc = [&](const Run& run) {
      double c = 0;
      for (const auto& img : run.images)
        c += (img.probs[m][1] > img.probs[m][0] ? 1 : 0) == img.label;
      return run.images.empty() ? 0.0 : c / run.images.size();
    };
    f.clean_accuracy = member_acc(clean);
    f.reversed_accuracy = member_acc(reversed);
    double judged = 0, marked = 0, looked = 0, used_n = 0;
    for (std::size_t i = 0; i < reversed.images.size(); ++i) {
      const ImageRow& img = reversed.images[i];
      const LungShare& s = img.shares[m];
      if (s.status == GateStatus::Ok) {
        ++judged;
        f.mean_share += s.share, f.mean_lift += s.lift, f.mean_excess += s.excess;
      }
      if (img.marked) {
        ++marked;
        f.mean_marker_share += img.marker_share[m];
        looked += img.marker_lift[m] >= o.looked_lift;
        f.mean_marker_effect += effect[i][m];
        used_n += used[i][m];
      }
    }
    if (judged > 0) f.mean_share /= judged, f.mean_lift /= judged, f.mean_excess /= judged;
    if (marked > 0) f.mean_marker_share /= marked, f.mean_marker_effect /= marked;
    f.looked_rate = marked > 0 ? looked / marked : 0.0;
    f.used_rate = marked > 0 ? used_n / marked : 0.0;
    rep.members.push_back(f);
  }
  rep.plain_clean = ensemble_accuracy(clean, nullptr, o, nullptr);
  rep.plain_reversed = ensemble_accuracy(reversed, nullptr, o, nullptr);

  const auto gate_row = [&](GateCriterion c, GateMode mode, double tau) {
    ShortcutGateFigures g;
    g.criterion = c;
    g.mode = mode;
    g.tau = tau;
    GateOptions go;
    go.criterion = c;
    go.mode = mode;
    go.tau = tau;
    go.quorum = std::min<int>(o.quorum, static_cast<int>(n_members));
    for (std::size_t i = 0; i < reversed.images.size(); ++i) {
      const ImageRow& img = reversed.images[i];
      const GateDecision d = gate_decide(img.shares, go);
      for (std::size_t m = 0; m < n_members; ++m) {
        if (img.shares[m].status != GateStatus::Ok) continue;
        ++g.pairs;
        const bool looked = img.marked && img.marker_lift[m] >= o.looked_lift;
        const bool dropped = !d.passed[m];
        g.looked += looked;
        g.dropped += dropped;
        g.dropped_looked += looked && dropped;
        g.used += used[i][m];
        g.dropped_used += used[i][m] && dropped;
      }
    }
    const auto ratio = [](int k, int n) { return n > 0 ? static_cast<double>(k) / n : 0.0; };
    g.precision = ratio(g.dropped_looked, g.dropped);
    g.recall = ratio(g.dropped_looked, g.looked);
    g.precision_used = ratio(g.dropped_used, g.dropped);
    g.recall_used = ratio(g.dropped_used, g.used);
    g.accuracy = ensemble_accuracy(reversed, &go, o, &g.coverage);
    g.accuracy_clean = ensemble_accuracy(clean, &go, o, &g.coverage_clean);
    rep.gates.push_back(g);
  };
  for (double t : o.share_taus) gate_row(GateCriterion::Share, GateMode::Hard, t);
  for (double t : o.lift_taus) gate_row(GateCriterion::Lift, GateMode::Hard, t);
  for (double t : o.excess_taus) gate_row(GateCriterion::Excess, GateMode::Hard, t);
  gate_row(GateCriterion::Excess, GateMode::Soft, 0.0);
  return rep;
}

namespace {
std::string fmt(double v, int prec = 3) {
  if (std::isnan(v)) return "-";
  std::ostringstream s;
  s << std::fixed << std::setprecision(prec) << v;
  return s.str();
}
std::string ci(const Interval& i) {
  return fmt(i.value) + " [" + fmt(i.lo) + ", " + fmt(i.hi) + "]";
}
}  // namespace

void print_shortcut_report(std::ostream& out, const ShortcutReport& r) {
  out << "Shortcut benchmark: " << r.clean_images << " clean and " << r.reversed_images
      << " reversed test images (" << r.marked_reversed << " carry a marker); a pair looked at "
      << "the marker when its mass there is >= " << fmt(r.options.looked_lift, 1)
      << "x the marker's area share; it used the marker when the marked copy of the film raised "
      << "p(" << r.marked_class << ") by >= " << fmt(r.options.used_delta, 2)
      << " over the clean copy, or turned the answer into " << r.marked_class
      << ". 95% intervals: bootstrap over images (" << r.options.bootstrap_reps << ").\n\n";
  out << "| member | clean acc | reversed acc | share | lift | excess | mass on marker | looked at marker | marker effect | used marker |\n"
      << "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& m : r.members)
    out << "| " << m.name << " | " << fmt(m.clean_accuracy) << " | " << fmt(m.reversed_accuracy) << " | "
        << fmt(m.mean_share) << " | " << fmt(m.mean_lift, 2) << " | " << fmt(m.mean_excess) << " | "
        << fmt(m.mean_marker_share) << " | " << fmt(m.looked_rate) << " | "
        << fmt(m.mean_marker_effect) << " | " << fmt(m.used_rate) << " |\n";
  out << "\nPlain soft vote of all members: clean " << ci(r.plain_clean) << ", reversed "
      << ci(r.plain_reversed) << "\n\n";
  out << "| gate | tau | dropped pairs | precision (looked) | recall (looked) | precision (used) | recall (used) | reversed acc (answered) | coverage | clean acc (answered) | coverage |\n"
      << "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& g : r.gates)
    out << "| " << to_string(g.criterion) << (g.mode == GateMode::Soft ? " (soft)" : "") << " | "
        << (g.mode == GateMode::Soft ? "-" : fmt(g.tau, 2)) << " | " << g.dropped << "/" << g.pairs << " | "
        << fmt(g.precision) << " | " << fmt(g.recall) << " | " << fmt(g.precision_used) << " | "
        << fmt(g.recall_used) << " | " << ci(g.accuracy) << " | "
        << fmt(g.coverage) << " | " << ci(g.accuracy_clean) << " | " << fmt(g.coverage_clean) << " |\n";
}

}  // namespace gradgate
