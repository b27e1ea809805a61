// Readers for point clouds and distance matrices stored by other tools: CSV/whitespace text, NumPy .npy
// (float32 or float64, 2-D, C order), and ripser's lower-triangular distance format. Every malformed file
// raises tl::ValueError naming the file and what is wrong with it; every value read must be a finite float32.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tl::data {

// [rows, columns]. Fields are separated by one comma or semicolon (blanks around it allowed) or by blanks; an empty
// field ("1,,2") or a field that is not wholly a number is an error; a first line whose first field is a word is a
// header; blank lines are skipped.
Tensor read_csv_points(const std::string& path);

// [rows, columns] from a non-empty 2-D '<f4' or '<f8' C-order array (format version 1, 2 or 3; the header at most
// 10000 bytes, as NumPy allows; the data exactly as long as the shape says).
Tensor read_npy_points(const std::string& path);

// Integer labels, one per row, each in [0, 2^31): a non-empty 1-D or [n, 1] '<i4' or '<i8' .npy array (a float,
// negative or too large label is an error naming the file and the row).
std::vector<int32_t> read_npy_labels(const std::string& path);
// The same from a one-column CSV file (read as read_csv_points does; every value an integer in [0, 2^24]).
std::vector<int32_t> read_csv_labels(const std::string& path);
// read_npy_labels for a name ending in ".npy", read_csv_labels otherwise.
std::vector<int32_t> read_labels(const std::string& path);

// The full symmetric [n, n] matrix (n >= 2) from ripser's lower-distance layout: line i holds the i distances from
// point i to points 0..i-1 (fields as in CSV), the first point's empty line may be left out, blank lines may end
// the file. A triangle with its zero diagonal, a full matrix, ragged rows, an empty file and negative distances are
// errors.
Tensor read_lower_distance(const std::string& path);

void write_npy_points(const std::string& path, const Tensor& points);                // float32 [rows, columns], C order
void write_npy_labels(const std::string& path, const std::vector<int32_t>& labels);  // int32 [rows]

}  // namespace tl::data
