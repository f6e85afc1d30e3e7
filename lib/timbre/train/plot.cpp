#include "timbre/train/plot.h"

#include <cairo.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <memory>

#include "timbre/core/error.h"
#include "timbre/io/atomic_file.h"

namespace timbre::train {

namespace {

using Color = std::array<double, 3>;
constexpr std::array<Color, 4> palette = {{{0.12, 0.47, 0.71}, {1.0, 0.50, 0.05}, {0.17, 0.63, 0.17}, {0.84, 0.15, 0.16}}};

struct Canvas {
  Canvas(int width, int height)
      : surface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height), cairo_surface_destroy),
        cr(cairo_create(surface.get()), cairo_destroy) {
    check(cairo_surface_status(surface.get()) == CAIRO_STATUS_SUCCESS, "plot", "cannot create a ", width, "x",
          height, " image");
    cairo_set_source_rgb(cr.get(), 1, 1, 1);
    cairo_paint(cr.get());
    cairo_set_source_rgb(cr.get(), 0.1, 0.1, 0.1);  // text and lines are dark unless set otherwise
    cairo_select_font_face(cr.get(), "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  }
  // Encodes to PNG in memory, then writes the file atomically.
  void save(const std::filesystem::path& png) {
    std::string bytes;
    const cairo_status_t status = cairo_surface_write_to_png_stream(
        surface.get(),
        [](void* closure, const unsigned char* data, unsigned int length) {
          static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
          return CAIRO_STATUS_SUCCESS;
        },
        &bytes);
    check(status == CAIRO_STATUS_SUCCESS, "plot " + png.string(), "PNG encoding failed: ", cairo_status_to_string(status));
    io::write_file_atomically(png, bytes);
  }
  std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface;
  std::unique_ptr<cairo_t, decltype(&cairo_destroy)> cr;
};

enum class Align { left, center, right };

// Draws `text` with its anchor at (x, y): horizontally per `align`, vertically centred; rotated by `angle`.
void text(cairo_t* cr, const std::string& s, double x, double y, double size, Align align = Align::center,
          double angle = 0, bool bold = false) {
  cairo_save(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t ext;
  cairo_text_extents(cr, s.c_str(), &ext);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, angle);
  const double dx = align == Align::left ? 0 : align == Align::center ? -ext.width / 2 : -ext.width;
  cairo_move_to(cr, dx - ext.x_bearing, -(ext.y_bearing + ext.height / 2));
  cairo_show_text(cr, s.c_str());
  cairo_restore(cr);
}

double text_width(cairo_t* cr, const std::string& s, double size) {
  cairo_save(cr);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t ext;
  cairo_text_extents(cr, s.c_str(), &ext);
  cairo_restore(cr);
  return ext.x_advance;
}

// Tick positions at a "nice" step (1, 2 or 5 x 10^k) covering [lo, hi] with about `target` ticks.
std::vector<double> nice_ticks(double lo, double hi, int target, double& step) {
  const double raw = (hi - lo) / std::max(target, 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  step = magnitude * (raw / magnitude < 1.5 ? 1 : raw / magnitude < 3.5 ? 2 : raw / magnitude < 7.5 ? 5 : 10);
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) ticks.push_back(t);
  return ticks;
}

std::string tick_label(double v, double step) {
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, std::abs(v) < step * 1e-6 ? 0.0 : v);
  return buf;
}

}  // namespace

void plot_lines(const std::filesystem::path& png, const std::string& title, const std::string& x_label,
                const std::string& y_label, const std::vector<double>& x, const std::vector<LineSeries>& series,
                LegendCorner legend) {
  check(!x.empty(), "plot_lines " + png.string(), "no points to plot");
  for (const LineSeries& s : series)
    check(s.y.size() == x.size(), "plot_lines " + png.string(), "series \"", s.label, "\" has ", s.y.size(),
          " values for ", x.size(), " x values");
  const int width = 800, height = 560;
  const double left = 86, right = 28, top = 52, bottom = 64;
  const double pw = width - left - right, ph = height - top - bottom;

  double x_lo = *std::min_element(x.begin(), x.end()), x_hi = *std::max_element(x.begin(), x.end());
  double y_lo = INFINITY, y_hi = -INFINITY;
  for (const LineSeries& s : series)
    for (double v : s.y)
      if (std::isfinite(v)) y_lo = std::min(y_lo, v), y_hi = std::max(y_hi, v);
  if (!std::isfinite(y_lo)) y_lo = 0, y_hi = 1;
  if (x_hi - x_lo < 1) x_lo -= 0.5, x_hi += 0.5;
  const double x_pad = 0.03 * (x_hi - x_lo);  // keep the end points off the frame
  x_lo -= x_pad, x_hi += x_pad;
  const double pad = y_hi > y_lo ? 0.06 * (y_hi - y_lo) : std::max(0.05 * std::abs(y_hi), 0.05);
  y_lo -= pad, y_hi += pad;
  auto px = [&](double v) { return left + (v - x_lo) / (x_hi - x_lo) * pw; };
  auto py = [&](double v) { return top + ph - (v - y_lo) / (y_hi - y_lo) * ph; };

  Canvas canvas(width, height);
  cairo_t* cr = canvas.cr.get();
  text(cr, title, width / 2.0, top / 2.0, 18, Align::center, 0, true);

  // Grid and ticks.
  double x_step, y_step;
  std::vector<double> x_ticks = nice_ticks(x_lo, x_hi, 10, x_step);
  if (x_step < 1) x_ticks = nice_ticks(x_lo, x_hi, static_cast<int>(x_hi - x_lo), x_step);  // whole epochs only
  const std::vector<double> y_ticks = nice_ticks(y_lo, y_hi, 6, y_step);
  cairo_set_line_width(cr, 1);
  for (double t : x_ticks) {
    if (t < x_lo || t > x_hi) continue;
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, std::round(px(t)) + 0.5, top);
    cairo_line_to(cr, std::round(px(t)) + 0.5, top + ph);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_move_to(cr, std::round(px(t)) + 0.5, top + ph);
    cairo_line_to(cr, std::round(px(t)) + 0.5, top + ph + 5);
    cairo_stroke(cr);
    text(cr, tick_label(t, x_step), px(t), top + ph + 16, 12);
  }
  for (double t : y_ticks) {
    if (t < y_lo || t > y_hi) continue;
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, left, std::round(py(t)) + 0.5);
    cairo_line_to(cr, left + pw, std::round(py(t)) + 0.5);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_move_to(cr, left - 5, std::round(py(t)) + 0.5);
    cairo_line_to(cr, left, std::round(py(t)) + 0.5);
    cairo_stroke(cr);
    text(cr, tick_label(t, y_step), left - 9, py(t), 12, Align::right);
  }
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_rectangle(cr, left + 0.5, top + 0.5, pw, ph);
  cairo_stroke(cr);
  text(cr, x_label, left + pw / 2, height - 20, 14);
  text(cr, y_label, 24, top + ph / 2, 14, Align::center, -M_PI / 2);

  // Lines with point markers (a single epoch still shows).
  cairo_save(cr);
  cairo_rectangle(cr, left, top, pw, ph);
  cairo_clip(cr);
  for (size_t k = 0; k < series.size(); ++k) {
    const Color& c = palette[k % palette.size()];
    cairo_set_source_rgb(cr, c[0], c[1], c[2]);
    cairo_set_line_width(cr, 2.2);
    bool drawing = false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (!std::isfinite(series[k].y[i])) {
        drawing = false;
        continue;
      }
      if (drawing)
        cairo_line_to(cr, px(x[i]), py(series[k].y[i]));
      else
        cairo_move_to(cr, px(x[i]), py(series[k].y[i]));
      drawing = true;
    }
    cairo_stroke(cr);
    for (size_t i = 0; i < x.size(); ++i) {
      if (!std::isfinite(series[k].y[i])) continue;
      cairo_arc(cr, px(x[i]), py(series[k].y[i]), 3.2, 0, 2 * M_PI);
      cairo_fill(cr);
    }
  }
  cairo_restore(cr);

  // Legend box.
  double label_width = 0;
  for (const LineSeries& s : series) label_width = std::max(label_width, text_width(cr, s.label, 13));
  const double row = 22, box_w = label_width + 56, box_h = row * static_cast<double>(series.size()) + 12;
  const double bx = left + pw - box_w - 12;
  const double by = legend == LegendCorner::upper_right ? top + 12 : top + ph - box_h - 12;
  cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
  cairo_rectangle(cr, bx, by, box_w, box_h);
  cairo_fill_preserve(cr);
  cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
  cairo_set_line_width(cr, 1);
  cairo_stroke(cr);
  for (size_t k = 0; k < series.size(); ++k) {
    const Color& c = palette[k % palette.size()];
    const double ly = by + 6 + row * (static_cast<double>(k) + 0.5);
    cairo_set_source_rgb(cr, c[0], c[1], c[2]);
    cairo_set_line_width(cr, 2.2);
    cairo_move_to(cr, bx + 10, ly);
    cairo_line_to(cr, bx + 38, ly);
    cairo_stroke(cr);
    cairo_arc(cr, bx + 24, ly, 3.2, 0, 2 * M_PI);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text(cr, series[k].label, bx + 46, ly, 13, Align::left);
  }
  canvas.save(png);
}

void plot_history(const std::filesystem::path& dir, const History& history, const std::string& model_title) {
  std::vector<double> epochs;
  LineSeries acc{"training", {}}, val_acc{"validation", {}}, loss{"training", {}}, val_loss{"validation", {}};
  for (const EpochRecord& r : history) {
    epochs.push_back(static_cast<double>(r.epoch));
    acc.y.push_back(r.accuracy);
    val_acc.y.push_back(r.val_accuracy);
    loss.y.push_back(r.loss);
    val_loss.y.push_back(r.val_loss);
  }
  plot_lines(dir / "accuracy.png", model_title + ": training vs validation accuracy", "epoch", "accuracy", epochs,
             {acc, val_acc}, LegendCorner::lower_right);
  plot_lines(dir / "loss.png", model_title + ": training vs validation loss", "epoch", "loss (cross-entropy)", epochs,
             {loss, val_loss}, LegendCorner::upper_right);
}

void plot_confusion_matrix(const std::filesystem::path& png, const std::string& title,
                           const std::vector<std::vector<int64_t>>& confusion,
                           const std::vector<std::string>& class_names) {
  const size_t n = class_names.size();
  check(n > 0 && confusion.size() == n, "plot_confusion_matrix " + png.string(), "expected a ", n, " x ", n,
        " matrix");
  for (const auto& row : confusion)
    check(row.size() == n, "plot_confusion_matrix " + png.string(), "expected a ", n, " x ", n, " matrix");
  const double cell = std::clamp(480.0 / static_cast<double>(n), 28.0, 72.0);
  Canvas probe(10, 10);
  double label_w = 0;
  for (const std::string& s : class_names) label_w = std::max(label_w, text_width(probe.cr.get(), s, 13));
  const double left = label_w + 70, top = 76, grid = cell * static_cast<double>(n);
  const double bottom = label_w * 0.75 + 60;
  const int width = static_cast<int>(left + grid + 40), height = static_cast<int>(top + grid + bottom);

  Canvas canvas(width, height);
  cairo_t* cr = canvas.cr.get();
  text(cr, title, width / 2.0, 24, 16, Align::center, 0, true);
  text(cr, "numbers: patches; colour: share of the true genre's patches (recall on the diagonal)", width / 2.0, 48,
       12);
  for (size_t r = 0; r < n; ++r) {
    int64_t row_total = 0;
    for (int64_t v : confusion[r]) row_total += v;
    for (size_t c = 0; c < n; ++c) {
      const double fraction = row_total ? static_cast<double>(confusion[r][c]) / static_cast<double>(row_total) : 0;
      // White to dark blue.
      const double red = 1 - 0.92 * fraction, green = 1 - 0.72 * fraction, blue = 1 - 0.45 * fraction;
      const double x = left + cell * static_cast<double>(c), y = top + cell * static_cast<double>(r);
      cairo_set_source_rgb(cr, red, green, blue);
      cairo_rectangle(cr, x, y, cell, cell);
      cairo_fill_preserve(cr);
      cairo_set_source_rgb(cr, 0.8, 0.8, 0.8);
      cairo_set_line_width(cr, 1);
      cairo_stroke(cr);
      const double shade = fraction > 0.5 ? 1.0 : 0.1;
      cairo_set_source_rgb(cr, shade, shade, shade);
      text(cr, std::to_string(confusion[r][c]), x + cell / 2, y + cell / 2, std::min(14.0, cell * 0.32));
    }
  }
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  for (size_t i = 0; i < n; ++i) {
    const double mid = cell * (static_cast<double>(i) + 0.5);
    text(cr, class_names[i], left - 8, top + mid, 13, Align::right);
    // Predicted names run down-left at 45 degrees from under their column.
    text(cr, class_names[i], left + mid + 4, top + grid + 10, 13, Align::right, -M_PI / 4);
  }
  text(cr, "predicted genre", left + grid / 2, height - 16, 14);
  text(cr, "true genre", 18, top + grid / 2, 14, Align::center, -M_PI / 2);
  canvas.save(png);
}

}  // namespace timbre::train
