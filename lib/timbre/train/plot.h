// PNG plots drawn with cairo: the seed's training-vs-validation curves
// (accuracy and loss per epoch) and a confusion matrix.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "timbre/train/history.h"

namespace timbre::train {

struct LineSeries {
  std::string label;
  std::vector<double> y;  // one value per x
};

enum class LegendCorner { upper_right, lower_right };

// Lines over shared x values, with axes, ticks, grid, axis labels, legend and title.
void plot_lines(const std::filesystem::path& png, const std::string& title, const std::string& x_label,
                const std::string& y_label, const std::vector<double>& x, const std::vector<LineSeries>& series,
                LegendCorner legend = LegendCorner::upper_right);

// accuracy.png and loss.png (training vs validation per epoch) in `dir`.
void plot_history(const std::filesystem::path& dir, const History& history, const std::string& model_title);

// Cells coloured by the fraction of each true class (row) predicted as each
// class, labelled with counts; true classes down, predicted classes across.
void plot_confusion_matrix(const std::filesystem::path& png, const std::string& title,
                           const std::vector<std::vector<int64_t>>& confusion,
                           const std::vector<std::string>& class_names);

}  // namespace timbre::train
