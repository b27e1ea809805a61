// Readers for point clouds and distance matrices stored by other tools: CSV/whitespace text, NumPy .npy
// (float32 or float64, 2-D, C order), and ripser's lower-triangular distance format. Every malformed file
// raises tl::ValueError naming the file and what is wrong with it.
#pragma once

#include <string>

#include "core/tensor.h"

namespace tl::data {

Tensor read_csv_points(const std::string& path);  // [rows, columns]; a non-numeric first line is a header
Tensor read_npy_points(const std::string& path);  // [rows, columns]
Tensor read_lower_distance(
    const std::string& path);  // full symmetric [n, n] from the n(n-1)/2 entries below the diagonal

void write_npy_points(const std::string& path, const Tensor& points);  // float32 [rows, columns], C order

}  // namespace tl::data
