#pragma once
// A classification task: its classes and how dataset labels map onto them.
// Loaded from config/tasks/<name>.yaml by config.h; no torch here.
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gradgate {

struct TaskSpec {
  std::string name;                                  // e.g. "covid-vs-other"
  std::vector<std::string> classes;                  // index = label id
  std::map<std::string, std::string> label_map;      // dataset diagnosis/folder -> class
  std::vector<std::string> sources;                  // dataset sources used; empty = all

  // Class index for a dataset label (diagnosis or folder name, case-insensitive);
  // nullopt when the task does not use that label (the image is not part of the task).
  std::optional<int> label_of(const std::string& diagnosis) const;
  bool uses_source(const std::string& source) const;
  int num_classes() const { return static_cast<int>(classes.size()); }
};

// The four tasks, in the study's order.
const std::vector<std::string>& task_names();

// Throws Error when `task` is empty ("--task is required") or not one of task_names(),
// listing the valid ones.
void require_task(const std::string& task);

}  // namespace gradgate
