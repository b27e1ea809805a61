// Pictures of an evaluated run, PNG files beside evaluation.md: the codes of the split coloured by label, samples
// of each sampler, and decoded interpolation paths.
#pragma once

#include <string>
#include <vector>

#include "apps/evaluation/evaluation_context.h"

namespace tl::eval {

// Writes into `directory` and returns the file names written:
//   latents.png             up to 5,000 codes of the split, coloured by label (the codes themselves when 2-D,
//                           else their projection on the two principal axes);
//   samples_<sampler>.png   for 28 x 28 images a 10 x 10 grid of samples; for other data, 1,000 samples (red) over
//                           1,000 split points (grey) in the split's principal plane;
//   interpolation.png       28 x 28 images only: decoded linear (odd rows) and geodesic (even rows) paths between
//                           six pairs of split points.
std::vector<std::string> write_plots(const EvaluationContext& context, const std::string& directory);

// Writes `directory`/diagrams.json, the finite pairs of one seeded batch of the split (topology_batch points) and
// of its codes, for reports to draw: {"points": B, "data": {"h0": [[b, d], ...], "h1": [...]}, "latent": {...}}.
void write_diagrams_json(const EvaluationContext& context, const std::string& directory);

}  // namespace tl::eval
