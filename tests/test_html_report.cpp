// The experiment's HTML page (apps/experiment/html_report.h): a fake experiment directory of two arms x two seeds
// with small logs, diagrams and PNG pictures; the page's claims, metric cells, loss-curve polylines (hand-computed
// coordinates), persistence-diagram points, embedded pictures (decoded back to their bytes), escaping, and a page
// written all the same when the optional files are missing. One more case writes the page of the directory named
// by TL_HTML_REPORT_DIR (tests/report_browser_check.py uses it) and does nothing without it.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "apps/experiment/html_report.h"
#include "apps/plot/image.h"
#include "tests/test_support.h"

namespace tl::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

void write_text(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
  REQUIRE(out.good());
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

std::string base64_decode(const std::string& text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  REQUIRE(text.size() % 4 == 0);
  std::string out;
  for (size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    for (int k = 0; k < 4; ++k) v[k] = text[i + k] == '=' ? 0 : value(text[i + k]);
    for (int k = 0; k < 4; ++k) REQUIRE(v[k] >= 0);
    const uint32_t bits = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    out += char(bits >> 16);
    if (text[i + 2] != '=') out += char((bits >> 8) & 0xff);
    if (text[i + 3] != '=') out += char(bits & 0xff);
  }
  return out;
}

// One step record per total, with a reconstruction term of total - 1 and the other fields the trainer writes.
std::string log_lines(const std::vector<double>& totals) {
  std::string out;
  for (size_t i = 0; i < totals.size(); ++i)
    out += json{{"step", i + 1},    {"epoch", 1},         {"reconstruction", totals[i] - 1},
                {"kl", 1.0},        {"total", totals[i]}, {"lr", 1e-3},
                {"grad_norm", 2.0}, {"model_ms", 0.1},    {"topology_ms", 0.0}}
               .dump() +
           "\n";
  return out;
}

json metric(double mean, double std, int n) {
  return {
      {"n", n}, {"mean", mean}, {"std", std}, {"ci95", {mean - 2 * std, mean + 2 * std}}, {"values", json::array()}};
}

// OUT/{plain_ae,topological_ae}/seed_{0,1}: logs with known totals; plain_ae/seed_0 also has validation records,
// diagrams.json and two pictures, whose bytes are returned in `png`.
json fake_experiment(const std::string& out, std::string& png) {
  write_text(out + "/plain_ae/seed_0/log.jsonl", "{\"event\":\"start\"}\nnot json\n" + log_lines({11, 9, 7, 5}) +
                                                     "{\"epoch\":1,\"validation_loss\":5.0}\n"
                                                     "{\"epoch\":2,\"validation_loss\":4.0}\n");
  write_text(out + "/plain_ae/seed_1/log.jsonl", log_lines({9, 7, 5, 3}) + "{\"epoch\":1,\"validation_loss\":7.0}\n");
  write_text(out + "/topological_ae/seed_0/log.jsonl", log_lines({10, 9, 8, 7}));
  write_text(out + "/topological_ae/seed_1/log.jsonl", log_lines({8, 7, 6, 5}));
  write_text(out + "/plain_ae/seed_0/evaluation.json", json{{"embedding", {{"kl_0.1", 0.03}}}}.dump());
  write_text(out + "/plain_ae/seed_0/diagrams.json", json{{"data", {{"h0", {{0, 1}, {0, 2}}}, {"h1", {{1, 1.5}}}}},
                                                          {"latent", {{"h0", {{0, 0.5}}}, {"h1", json::array()}}}}
                                                         .dump());
  plot::Image image(3, 2);
  image.set(0, 0, 0xff0000);
  image.set(2, 1, 0x0000ff);
  plot::write_png(out + "/plain_ae/seed_0/latents.png", image);
  plot::write_png(out + "/plain_ae/seed_0/samples_langevin.png", plot::Image(4, 4));
  png = read_text(out + "/plain_ae/seed_0/latents.png");

  json metrics_plain = {{"embedding.kl_0.1", metric(0.0325, 0.0035, 2)},
                        {"reconstruction.mse_per_feature", metric(0.125, 0.01, 2)}};
  json metrics_topo = {{"embedding.kl_0.1", metric(0.0087, 0.0012, 2)},
                       {"reconstruction.mse_per_feature", metric(0.25, 0.02, 2)}};
  for (int k = 0; k < 10; ++k) {  // a per-k array: left out of the tables
    metrics_plain["embedding.trustworthiness_at_k." + std::to_string(k)] = metric(0.9, 0.01, 2);
    metrics_topo["embedding.trustworthiness_at_k." + std::to_string(k)] = metric(0.95, 0.01, 2);
  }
  json runs = json::array();
  for (const char* arm : {"plain_ae", "topological_ae"})
    for (int seed : {0, 1})
      runs.push_back({{"arm", arm},
                      {"seed", seed},
                      {"directory", std::string(arm) + "/seed_" + std::to_string(seed)},
                      {"status", "done"},
                      {"seconds", 1.5}});
  return {{"experiment", "spheres_topological_ae"},
          {"title", "Spheres <AE> & \"TopoAE\""},
          {"description", "What the paper did & what we run."},
          {"profile", "quick"},
          {"profiles", {"quick", "full"}},
          {"seeds", {0, 1}},
          {"arms",
           {{{"name", "plain_ae"},
             {"label", "Plain AE"},
             {"config", "configs/spheres_ae.json"},
             {"overrides", json::array()}},
            {{"name", "topological_ae"},
             {"label", "TopoAE"},
             {"config", "configs/spheres_topological_ae.json"},
             {"overrides", {"topology.0.weight=0.5"}}}}},
          {"runs", runs},
          {"metrics", {{"plain_ae", metrics_plain}, {"topological_ae", metrics_topo}}},
          {"claims",
           {{{"text", "The topological AE keeps the density structure better: lower KL_0.1."},
             {"source", "Moor et al. 2020, Table 2"},
             {"metric", "embedding.kl_0.1"},
             {"kind", "difference"},
             {"better", "lower"},
             {"baseline", "plain_ae"},
             {"treatment", "topological_ae"},
             {"pairs", 2},
             {"estimate", -0.0238},
             {"ci95", {-0.03, -0.0176}},
             {"verdict", "reproduced"},
             {"reason", "the 95% interval of treatment - baseline lies below 0"}},
            {{"text", "Reconstruction costs at most 2x."},
             {"source", "Moor et al. 2020, Table 2"},
             {"metric", "reconstruction.mse_per_feature"},
             {"kind", "ratio"},
             {"range", {1, 2}},
             {"baseline", "plain_ae"},
             {"treatment", "topological_ae"},
             {"pairs", 2},
             {"estimate", 2},
             {"ci95", {0.5, 3.5}},
             {"verdict", "inconclusive"},
             {"reason", "the interval straddles the claimed range"}}}}};
}

}  // namespace

TEST_CASE("html report: base64, escaping and nice axes") {
  using experiment::base64_encode;
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_encode(std::string("\x00\xff\xfe", 3)) == "AP/+");
  CHECK(experiment::html_escape("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&#39;");

  experiment::Axis axis = experiment::nice_axis(1, 4);  // span 3: step 1
  CHECK(axis.low == 1.0);
  CHECK(axis.high == 4.0);
  CHECK(axis.step == 1.0);
  axis = experiment::nice_axis(4, 10);  // span 6: raw step 1.2, nice step 2
  CHECK(axis.low == 4.0);
  CHECK(axis.high == 10.0);
  CHECK(axis.step == 2.0);
  axis = experiment::nice_axis(0.013, 0.087);  // raw 0.0148: step 0.02, 0 .. 0.1
  CHECK(axis.step == doctest::Approx(0.02));
  CHECK(axis.low == doctest::Approx(0.0));
  CHECK(axis.high == doctest::Approx(0.1));
  axis = experiment::nice_axis(5, 5);  // widened to 4 .. 6
  CHECK(axis.low == 4.0);
  CHECK(axis.high == 6.0);
}

TEST_CASE("html report: the mean log curve over seeds, downsampled by buckets") {
  const std::string dir = scratch_directory("html_report_curve");
  write_text(dir + "/a.jsonl", log_lines({11, 9, 7, 5}) + "{\"epoch\":1,\"validation_loss\":3}\n");
  write_text(dir + "/b.jsonl", log_lines({9, 7, 5}));  // lacks step 4: step 4's mean is a's alone
  using Points = std::vector<std::pair<double, double>>;
  CHECK(experiment::mean_log_curve({dir + "/a.jsonl", dir + "/b.jsonl"}, "total") ==
        Points{{1, 10}, {2, 8}, {3, 6}, {4, 5}});
  CHECK(experiment::mean_log_curve({dir + "/a.jsonl", dir + "/b.jsonl"}, "total", 2) == Points{{1.5, 9}, {3.5, 5.5}});
  CHECK(experiment::mean_log_curve({dir + "/a.jsonl", dir + "/missing.jsonl"}, "reconstruction") ==
        Points{{1, 10}, {2, 8}, {3, 6}, {4, 4}});
  CHECK(experiment::mean_log_curve({dir + "/a.jsonl"}, "no_such_term").empty());
}

TEST_CASE("html report: a fake experiment of two arms x two seeds") {
  const std::string out = scratch_directory("html_report_page");
  std::string png;
  const json summary = fake_experiment(out, png);
  const std::string path = experiment::write_html_report(summary, out);
  CHECK(path == (fs::path(out) / "report.html").string());
  const std::string page = read_text(path);
  for (const auto& entry : fs::directory_iterator(out))  // written atomically: no temporary left behind
    CHECK(entry.path().filename().string().find(".tmp") == std::string::npos);

  // Self-contained: no reference to the network.
  CHECK(page.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(count(page, "://") == count(page, "http://www.w3.org/2000/svg"));  // only SVG's namespace name
  CHECK(page.find("https://") == std::string::npos);
  CHECK(page.find("<script") == std::string::npos);

  // Escaping.
  CHECK(page.find("<title>Spheres &lt;AE&gt; &amp; &quot;TopoAE&quot;</title>") != std::string::npos);
  CHECK(page.find("<h1>Spheres &lt;AE&gt; &amp; &quot;TopoAE&quot;</h1>") != std::string::npos);
  CHECK(page.find("<AE>") == std::string::npos);
  CHECK(page.find("What the paper did &amp; what we run.") != std::string::npos);

  // Header: profile, seeds, arms with config and overrides.
  CHECK(page.find("<b>quick</b> (profiles: quick, full)") != std::string::npos);
  CHECK(page.find("<dt>Seeds</dt><dd>0, 1</dd>") != std::string::npos);
  CHECK(page.find("<code>configs/spheres_topological_ae.json</code>") != std::string::npos);
  CHECK(page.find("<code>topology.0.weight=0.5</code>") != std::string::npos);
  CHECK(page.find("4 (4 done, 0 failed)") != std::string::npos);

  // Claims come first, with their verdicts and figures.
  CHECK(page.find("id=\"claims\"") < page.find("id=\"metrics\""));
  CHECK(count(page, "<tr class=\"claim\">") == 2);
  CHECK(page.find("The topological AE keeps the density structure better: lower KL_0.1.") != std::string::npos);
  CHECK(page.find("<span class=\"verdict reproduced\">reproduced</span>") != std::string::npos);
  CHECK(page.find("<span class=\"verdict inconclusive\">inconclusive</span>") != std::string::npos);
  CHECK(page.find("<b>-0.0238</b> <span class=\"ci\">[-0.03, -0.0176]</span><br><span class=\"n\">2 pairs</span>") !=
        std::string::npos);
  CHECK(page.find("<b>2&times;</b> <span class=\"ci\">[0.5, 3.5]</span>") != std::string::npos);
  CHECK(page.find("TopoAE / Plain AE in [1, 2]") != std::string::npos);
  CHECK(page.find("TopoAE &minus; Plain AE, lower is better") != std::string::npos);

  // Metric cells of both arms; the per-k array stays out.
  CHECK(page.find("<td class=\"num\" title=\"95% interval [0.0255, 0.0395]\">0.0325 &plusmn; 0.0035 <span "
                  "class=\"n\">(2)</span></td>") != std::string::npos);
  CHECK(page.find(">0.0087 &plusmn; 0.0012 <span class=\"n\">(2)</span></td>") != std::string::npos);
  CHECK(page.find(">0.125 &plusmn; 0.01 <span class=\"n\">(2)</span></td>") != std::string::npos);
  CHECK(page.find("<th>Plain AE</th><th>TopoAE</th>") != std::string::npos);
  CHECK(page.find("trustworthiness_at_k.3") == std::string::npos);
  CHECK(page.find("(10 per-k array entries left out)") != std::string::npos);
  CHECK(page.find("<tr class=\"group\"><th colspan=\"3\">reconstruction</th></tr>") <
        page.find("<tr class=\"group\"><th colspan=\"3\">embedding</th></tr>"));

  // Loss curves: x axis 1..4 (step 1), y axis 4..10 (step 2), plot area 470 x 290 from (70, 20): the mean totals
  // 10, 8, 6, 4 (plain) and 9, 8, 7, 6 (topological).
  CHECK(page.find("<svg class=\"chart\"") != std::string::npos);
  CHECK(page.find("data-series=\"Plain AE\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" "
                  "points=\"70.00,20.00 226.67,116.67 383.33,213.33 540.00,310.00\"") != std::string::npos);
  CHECK(page.find("data-series=\"TopoAE\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"1.5\" "
                  "points=\"70.00,68.33 226.67,116.67 383.33,165.00 540.00,213.33\"") != std::string::npos);
  // The reconstruction term (total - 1) has its own chart: 3 .. 9 on a y axis of 2 .. 10 (step 2).
  CHECK(page.find("<figcaption>Reconstruction term</figcaption>") != std::string::npos);
  CHECK(page.find("points=\"70.00,56.25 226.67,128.75 383.33,201.25 540.00,273.75\"") != std::string::npos);
  // Validation per epoch (plain only): epoch 1 mean of 5 and 7, epoch 2 of 4; axes 1..2 and 4..6.
  CHECK(page.find("data-series=\"Plain AE\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" "
                  "points=\"70.00,20.00 540.00,310.00\"") != std::string::npos);
  CHECK(page.find(">step</text>") != std::string::npos);
  CHECK(page.find("Plain AE: 2 logs, TopoAE: 2 logs") != std::string::npos);
  CHECK(page.find(">total loss</text>") != std::string::npos);
  // Tick labels of the x axis: 1 .. 4.
  for (const char* tick : {">1</text>", ">2</text>", ">3</text>", ">4</text>", ">10</text>"})
    CHECK(page.find(tick) != std::string::npos);

  // Persistence diagrams: only plain_ae has diagrams.json; data axis 0..2 in a 268 x 266 plot area from (56, 28):
  // the H1 point (1, 1.5) at (190, 94.5).
  CHECK(count(page, "class=\"arm-diagrams\"") == 1);
  CHECK(page.find("<circle cx=\"190.00\" cy=\"94.50\" r=\"2.5\"/>") != std::string::npos);
  CHECK(page.find("H0 (2 pairs)") != std::string::npos);
  CHECK(page.find("H1 (1 pair)") != std::string::npos);
  CHECK(page.find("H1 (0 pairs)") != std::string::npos);  // the latent's empty H1
  CHECK(page.find(">diagonal</text>") != std::string::npos);

  // Pictures: latents.png first, embedded byte for byte.
  const std::string prefix = "data:image/png;base64,";
  const size_t at = page.find(prefix);
  REQUIRE(at != std::string::npos);
  const size_t end = page.find('"', at);
  CHECK(base64_decode(page.substr(at + prefix.size(), end - at - prefix.size())) == png);
  CHECK(page.compare(end, 22, "\" width=\"3\" height=\"2\"") == 0);
  CHECK(count(page, prefix) == 2);
  CHECK(page.find("samples from the langevin sampler") != std::string::npos);
  CHECK(page.find("No pictures") == std::string::npos);
}

TEST_CASE("html report: missing optional files and failed runs leave a page all the same") {
  const std::string out = scratch_directory("html_report_absent");
  fs::create_directories(out + "/plain_ae/seed_0");  // an empty run directory; seed_1 failed before creating its own
  const json summary = {{"experiment", "empty"},
                        {"seeds", {0, 1}},
                        {"arms", {{{"name", "plain_ae"}, {"label", "Plain AE"}}}},
                        {"runs",
                         {{{"arm", "plain_ae"}, {"seed", 0}, {"directory", "plain_ae/seed_0"}, {"status", "done"}},
                          {{"arm", "plain_ae"},
                           {"seed", 1},
                           {"directory", "plain_ae/seed_1"},
                           {"status", "failed"},
                           {"error", "tl_train: loss is NaN at step 3 <boom>"}}}},
                        {"metrics", json::object()},
                        {"claims", json::array()}};
  const std::string page = read_text(experiment::write_html_report(summary, out));
  CHECK(page.find("<h1>empty</h1>") != std::string::npos);
  CHECK(page.find("The experiment states no claims.") != std::string::npos);
  CHECK(page.find("No metrics: no run finished.") != std::string::npos);
  CHECK(page.find("No training log") != std::string::npos);
  CHECK(page.find("No diagrams.json") != std::string::npos);
  CHECK(page.find("No pictures") != std::string::npos);
  CHECK(page.find("<img") == std::string::npos);
  CHECK(page.find("<polyline") == std::string::npos);
  CHECK(page.find("2 (1 done, 1 failed)") != std::string::npos);
  CHECK(page.find("<details open><summary>Runs</summary>") != std::string::npos);
  CHECK(page.find("loss is NaN at step 3 &lt;boom&gt;") != std::string::npos);

  // A summary that lacks nearly everything, into a directory that does not exist yet.
  const std::string bare = read_text(experiment::write_html_report(json::object(), out + "/fresh"));
  CHECK(bare.find("<h1>Experiment</h1>") != std::string::npos);
  CHECK(bare.find("</html>") != std::string::npos);
}

// tests/report_browser_check.py writes a fake experiment directory with summary.json and runs this case with
// TL_HTML_REPORT_DIR set; without it the case does nothing.
TEST_CASE("html report: the page of TL_HTML_REPORT_DIR for the browser check") {
  const char* directory = std::getenv("TL_HTML_REPORT_DIR");
  if (!directory || !*directory) return;
  const json summary = json::parse(read_text(std::string(directory) + "/summary.json"));
  const std::string path = experiment::write_html_report(summary, directory);
  MESSAGE("wrote " << path);
  CHECK(fs::is_regular_file(path));
}

}  // namespace tl::testing
