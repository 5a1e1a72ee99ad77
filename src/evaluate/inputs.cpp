// The two ways into a bench: a run read back with its labels, or a task's split written as
// classify's input (so that ensemble-bench --data --split runs classify first).
#include "gradgate/common/atomic_file.h"
#include "gradgate/config.h"
#include "gradgate/dataset.h"
#include "gradgate/error.h"
#include "gradgate/evaluate.h"
#include "report/format.h"

namespace fs = std::filesystem;

namespace gradgate {

RunResults load_labelled_run(const fs::path& results, const fs::path& data, const fs::path& config_dir,
                             bool allow_untrained) {
  RunResults r = load_run_results(results);
  if (!r.run.untrained.empty() && !allow_untrained)
    throw Error(r.run.file.string() + ": " + std::to_string(r.run.untrained.size()) + " of " +
                std::to_string(r.run.members.size()) +
                " members ran with random weights (untrained_members); their accuracy means nothing. Train them, "
                "or pass --allow-untrained to bench them anyway (every output is then marked)");
  const TaskConfig task = load_task(r.run.task, resolve_config_dir(config_dir));
  if (task.task.classes != r.run.classes)
    throw Error(r.run.file.string() + ": classes differ from " + task.file.string() + "'s");
  if (!data.empty()) {
    const auto ds = open_dataset(data);
    if (attach_labels(r, *ds, task.task) == 0)
      throw Error("none of the " + std::to_string(r.rows.size()) + " images of " + r.results_file.string() +
                  " is in " + data.string());
  }
  return r;
}

size_t write_split_inputs(const Dataset& data, const TaskSpec& task, int split, size_t limit, const fs::path& csv) {
  TaskView view(std::shared_ptr<const Dataset>(&data, [](const Dataset*) {}), task);
  const Batch all = view.list(static_cast<Split>(split));
  if (all.size() == 0)
    throw DatasetError(data.path().string() + ": task " + task.name + " has no images in split " +
                       split_name(static_cast<Split>(split)));
  const size_t n = limit > 0 && limit < all.size() ? limit : all.size();
  std::string out = report_detail::csv_line({"path", "label", "mask", "patient", "split"});
  for (size_t k = 0; k < n; ++k) {
    // Evenly spaced: the manifest is ordered by source and class, so the first n would not do.
    const Sample& s = all.samples[k * all.size() / n];
    out += report_detail::csv_line({s.image.string(), s.diagnosis, s.mask ? s.mask->string() : "", s.patient,
                                    s.split == Split::Other ? s.split_text : split_name(s.split)});
  }
  write_file_atomic(csv, out);
  return n;
}

}  // namespace gradgate
