// tl_experiment (docs/experiments.md): the statistics against hand values, the claims' verdicts for each kind,
// the flattening of evaluation.json and the log_steps read from log.jsonl, the experiment file's refusals naming
// their key, and one end-to-end run of the tool (2 arms x 2 seeds of a tiny VAE) that a second invocation leaves
// untouched and that resumes a run missing only its evaluation (tl_experiment and the tools it runs are build
// dependencies of the test binary).
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "apps/experiment/aggregate.h"
#include "apps/experiment/runner.h"
#include "tests/test_support.h"

namespace tl::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace tl::experiment;

Claim claim_of(const std::string& kind, const std::string& better, double low = 0.0, double high = 0.0) {
  Claim claim;
  claim.metric = "m";
  claim.kind = kind;
  claim.better = better;
  claim.low = low;
  claim.high = high;
  claim.baseline = "a";
  claim.treatment = "b";
  return claim;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string parse_error(const json& document) {
  try {
    parse_experiment(document);
  } catch (const ValueError& error) {
    return error.what();
  }
  return "(accepted)";
}

// A tiny MLP VAE config on 10-D clusters, 8 steps.
json tiny_config() {
  return json::parse(R"({
    "model": {"preset": "mlp_vae", "input": 10, "hidden": [16], "latent": 2},
    "data": {"source": "synthetic", "name": "clusters", "count": 640},
    "loss": {"reconstruction": "mse"},
    "optimizer": {"type": "adam", "lr": 0.01},
    "epochs": 2, "max_steps": 8, "batch_size": 32, "seed": 3, "progress": false
  })");
}

// An experiment of two arms over that config, written to `directory`/config.json.
json tiny_experiment(const std::string& directory) {
  std::ofstream(directory + "/config.json") << tiny_config().dump(2);
  json document = json::parse(R"({
    "name": "tiny", "title": "Tiny", "description": "Two learning rates.",
    "arms": [{"name": "fast", "label": "lr 0.01", "config": "", "overrides": []},
             {"name": "slow", "label": "lr 0.001", "config": "", "overrides": ["optimizer.lr=0.001"]}],
    "profiles": {"quick": {"seeds": [0, 1], "overrides": [], "evaluate": ["--groups", "reconstruction,cost"]},
                 "full": {"seeds": [0, 1, 2], "overrides": ["max_steps=16"]}},
    "evaluate": ["--no-plots"],
    "log_steps": [4, 8],
    "claims": [{"text": "The faster rate reconstructs better.", "source": "here",
                "metric": "reconstruction.mse_per_feature", "kind": "difference", "better": "lower",
                "baseline": "slow", "treatment": "fast"},
               {"text": "Same step count.", "metric": "train.steps", "kind": "ratio", "range": [0.9, 1.1],
                "baseline": "slow", "treatment": "fast"}]
  })");
  for (json& arm : document["arms"]) arm["config"] = directory + "/config.json";
  return document;
}

}  // namespace

TEST_CASE("experiment: statistics against hand values, t quantiles") {
  CHECK(t_quantile_975(4) == doctest::Approx(2.776).epsilon(2e-4));
  CHECK(t_quantile_975(1) == doctest::Approx(12.706).epsilon(1e-4));
  CHECK(t_quantile_975(30) == doctest::Approx(2.0423).epsilon(1e-4));
  CHECK(t_quantile_975(31) == doctest::Approx(2.039513).epsilon(1e-5));  // R: qt(0.975, 31)
  CHECK(t_quantile_975(60) == doctest::Approx(2.000298).epsilon(1e-5));
  CHECK(t_quantile_975(1000) == doctest::Approx(1.962339).epsilon(1e-5));
  CHECK_THROWS_AS(t_quantile_975(0), ValueError);

  // 1..5: mean 3, sample variance 2.5, half width 2.776445 sqrt(2.5) / sqrt(5) = 1.963243.
  const Statistics s = statistics({1, 2, 3, 4, 5});
  CHECK(s.n == 5);
  CHECK(s.mean == doctest::Approx(3.0));
  CHECK(s.std == doctest::Approx(std::sqrt(2.5)));
  CHECK(s.ci_low == doctest::Approx(3.0 - 1.963243).epsilon(1e-6));
  CHECK(s.ci_high == doctest::Approx(3.0 + 1.963243).epsilon(1e-6));
  const Statistics one = statistics({0.25});
  CHECK(one.n == 1);
  CHECK(one.std == 0.0);
  CHECK(one.ci_low == 0.25);
  CHECK(one.ci_high == 0.25);
}

TEST_CASE("experiment: claim verdicts for difference, relative and ratio") {
  SUBCASE("difference") {
    // Effects -2, -1.5, -3: mean -2.1667, std 0.76376, half width 4.302653 * 0.763763 / sqrt(3) = 1.897292.
    const std::map<int64_t, double> baseline{{0, 10}, {1, 11}, {2, 12}, {3, 99}};  // seed 3 has no pair
    const std::map<int64_t, double> treatment{{0, 8}, {1, 9.5}, {2, 9}};
    const ClaimResult lower = evaluate_claim(claim_of("difference", "lower"), baseline, treatment);
    CHECK(lower.seeds == std::vector<int64_t>{0, 1, 2});
    CHECK(lower.effects == std::vector<double>{-2, -1.5, -3});
    REQUIRE(lower.effect);
    CHECK(lower.effect->mean == doctest::Approx(-13.0 / 6.0));
    CHECK(lower.effect->ci_low == doctest::Approx(-13.0 / 6.0 - 1.897292).epsilon(1e-5));
    CHECK(lower.effect->ci_high == doctest::Approx(-13.0 / 6.0 + 1.897292).epsilon(1e-5));
    CHECK(lower.verdict == "reproduced");
    CHECK(contains(lower.reason, "lies below 0"));
    const ClaimResult higher = evaluate_claim(claim_of("difference", "higher"), baseline, treatment);
    CHECK(higher.verdict == "not reproduced");
    CHECK(contains(higher.reason, "lies below 0"));
    const ClaimResult mixed =
        evaluate_claim(claim_of("difference", "lower"), {{0, 1}, {1, 1}, {2, 1}}, {{0, 2}, {1, 0.5}, {2, 0.8}});
    CHECK(mixed.verdict == "inconclusive");
    CHECK(contains(mixed.reason, "contains 0"));
    const ClaimResult single = evaluate_claim(claim_of("difference", "lower"), {{0, 10}}, {{0, 1}, {1, 2}});
    CHECK(single.effects.size() == 1);
    CHECK(single.verdict == "inconclusive");
    CHECK(contains(single.reason, "only 1 per-seed pair"));
    const ClaimResult none = evaluate_claim(claim_of("difference", "lower"), {{0, 10}}, {{1, 2}});
    CHECK_FALSE(none.effect);
    CHECK(none.verdict == "inconclusive");
  }
  SUBCASE("relative") {
    // r = 50, 40, 45 percent: mean 45, std 5, half width 4.302653 * 5 / sqrt(3) = 12.42069.
    const std::map<int64_t, double> baseline{{0, 100}, {1, 100}, {2, 100}};
    const std::map<int64_t, double> treatment{{0, 50}, {1, 60}, {2, 55}};
    const ClaimResult inside = evaluate_claim(claim_of("relative", "", 20, 80), baseline, treatment);
    REQUIRE(inside.effect);
    CHECK(inside.effect->mean == doctest::Approx(45.0));
    CHECK(inside.effect->std == doctest::Approx(5.0));
    CHECK(inside.effect->ci_low == doctest::Approx(45.0 - 12.42069).epsilon(1e-6));
    CHECK(inside.verdict == "reproduced");
    CHECK(evaluate_claim(claim_of("relative", "", 60, 90), baseline, treatment).verdict == "not reproduced");
    CHECK(evaluate_claim(claim_of("relative", "", 50, 90), baseline, treatment).verdict == "inconclusive");
    // A zero baseline has no relative change: the pair is left out, and the reason says so.
    const ClaimResult zero = evaluate_claim(claim_of("relative", "", 20, 80), {{0, 0}, {1, 100}}, {{0, 1}, {1, 50}});
    CHECK(zero.effects == std::vector<double>{50});
    CHECK(contains(zero.reason, "zero baseline"));
  }
  SUBCASE("ratio") {
    // 5, 5, 5.5: mean 5.16667, std 0.288675, half width 0.717109.
    const std::map<int64_t, double> baseline{{0, 1}, {1, 2}, {2, 4}};
    const std::map<int64_t, double> treatment{{0, 5}, {1, 10}, {2, 22}};
    const ClaimResult loose = evaluate_claim(claim_of("ratio", "", 4, 11.3), baseline, treatment);
    REQUIRE(loose.effect);
    CHECK(loose.effect->ci_low == doctest::Approx(5.166667 - 0.717109).epsilon(1e-5));
    CHECK(loose.effect->ci_high == doctest::Approx(5.166667 + 0.717109).epsilon(1e-5));
    CHECK(loose.verdict == "reproduced");
    CHECK(evaluate_claim(claim_of("ratio", "", 4.7, 11.3), baseline, treatment).verdict == "inconclusive");
    const ClaimResult outside = evaluate_claim(claim_of("ratio", "", 6, 10), baseline, treatment);
    CHECK(outside.verdict == "not reproduced");
    CHECK(contains(outside.reason, "below the claimed [6, 10]"));
  }
}

TEST_CASE("experiment: the summary's metrics per arm, and a claim between two metrics of one arm") {
  Experiment e;
  e.name = "x";
  e.arms = {Arm{"a", "A", "a.json", {}}};
  Profile profile{"quick", {2, 0, 1}, {}, {}};
  e.profiles = {profile};
  Claim claim = claim_of("ratio", "", 0.0, 1.0);
  claim.baseline = claim.treatment = "a";
  claim.metric = "langevin";
  claim.baseline_metric = "gaussian";
  e.claims = {claim};
  std::vector<RunRecord> runs;
  for (int64_t seed : profile.seeds) runs.push_back({"a", seed, "a/seed_" + std::to_string(seed), "done", 1.0, ""});
  runs[2].status = "failed";
  runs[2].error = "tl_train exited with status 3: diverged";
  const std::map<std::pair<std::string, int64_t>, RunMetrics> metrics{
      {{"a", 2}, {{"gaussian", 4.0}, {"langevin", 2.0}}}, {{"a", 0}, {{"gaussian", 8.0}, {"langevin", 2.0}, {"x", 1}}}};
  const json summary = build_summary(e, profile, runs, metrics);
  CHECK(summary["runs"][2]["error"] == "tl_train exited with status 3: diverged");
  CHECK(summary["runs"][0]["seconds"] == 1.0);
  const json& gaussian = summary["metrics"]["a"]["gaussian"];
  CHECK(gaussian["values"] == json({4.0, 8.0}));  // the profile's seed order: 2, then 0
  CHECK(gaussian["seeds"] == json({2, 0}));
  CHECK(gaussian["n"] == 2);
  CHECK(summary["metrics"]["a"]["x"]["ci95"] == json({1.0, 1.0}));
  const json& c = summary["claims"][0];
  CHECK(c["baseline_metric"] == "gaussian");
  CHECK(c["range"] == json({0.0, 1.0}));
  CHECK(c["seeds"] == json({0, 2}));
  CHECK(c["effects"] == json({0.25, 0.5}));
  CHECK(c["estimate"].get<double>() == doctest::Approx(0.375));
  // 0.25, 0.5: std 0.176777, half width 12.706205 * 0.176777 / sqrt(2) = 1.588276: [-1.213, 1.963].
  CHECK(c["ci95"][0].get<double>() == doctest::Approx(0.375 - 1.588276).epsilon(1e-5));
  CHECK(c["verdict"] == "inconclusive");
}

TEST_CASE("experiment: evaluation.json flattens to dotted numeric leaves; log_steps read log.jsonl") {
  const json evaluation = json::parse(R"({
    "step": 24, "device": "cpu", "plots": true, "missing": null,
    "reconstruction": {"mse_per_feature": 0.5, "psnr_db": 12.25},
    "generation": {"samplers": {"langevin": {"frechet_distance": 3.5, "curve": [1, 2]}}},
    "embedding": {"kl_0.1": 0.03, "per_k": [{"k": 10}]}
  })");
  RunMetrics flat;
  flatten_numeric(evaluation, "", flat);
  const RunMetrics expected{{"step", 24},
                            {"reconstruction.mse_per_feature", 0.5},
                            {"reconstruction.psnr_db", 12.25},
                            {"generation.samplers.langevin.frechet_distance", 3.5},
                            {"embedding.kl_0.1", 0.03}};
  CHECK(flat == expected);
  RunMetrics train;
  flatten_numeric(json::parse(R"({"steps": 8, "last_epoch_mean": {"total": 1.5}})"), "train", train);
  CHECK(train == RunMetrics{{"train.steps", 8}, {"train.last_epoch_mean.total", 1.5}});

  const std::string log =
      "{\"epoch\":1,\"step\":1,\"total\":9.0,\"lr\":0.01}\n"
      "{\"epoch\":1,\"step\":2,\"total\":7.5,\"reconstruction\":7.0,\"lr\":0.01}\n"
      "{\"epoch\":1,\"step\":3,\"total\":6.0}\n"
      "{\"step\":2,\"total\":7.25,\"reconstruction\":6.75}\n"  // a resumed run's later record of step 2 wins
      "{\"epoch\":2,\"step\":4,\"tot";                         // torn
  const RunMetrics steps = log_metrics(log, {2, 3, 4});
  const RunMetrics expected_steps{{"log.total.step_2", 7.25},
                                  {"log.reconstruction.step_2", 6.75},
                                  {"log.lr.step_2", 0.01},
                                  {"log.total.step_3", 6.0}};
  CHECK(steps == expected_steps);
}

TEST_CASE("experiment: a bad experiment file is refused naming the key") {
  const std::string dir = scratch_directory("experiment_parse");
  const json good = tiny_experiment(dir);
  const Experiment parsed = parse_experiment(good);
  CHECK(parsed.arms.size() == 2);
  CHECK(parsed.arms[1].overrides == std::vector<std::string>{"optimizer.lr=0.001"});
  CHECK(parsed.profiles.size() == 2);
  CHECK(select_profile(parsed, "quick").seeds == std::vector<int64_t>{0, 1});
  CHECK(parsed.claims[1].low == 0.9);
  CHECK(parsed.log_steps == std::vector<int64_t>{4, 8});

  const auto refused = [&](const std::function<void(json&)>& change, const std::string& message) {
    json document = good;
    change(document);
    const std::string error = parse_error(document);
    CHECK_MESSAGE(contains(error, message), error);
  };
  refused([](json& d) { d["claims"][0]["kind"] = "delta"; },
          "claims.0.kind: must be one of difference, relative, ratio");
  refused([](json& d) { d["claim"] = json::array(); }, "claim: unknown key");
  refused([](json& d) { d["arms"][0]["overides"] = json::array(); }, "arms.0.overides: unknown key");
  refused([](json& d) { d["profiles"]["quick"]["seed"] = 1; }, "profiles.quick.seed: unknown key");
  refused([](json& d) { d["arms"][1]["config"] = "no/such/config.json"; },
          "arms.1.config: file 'no/such/config.json' not found");
  refused([](json& d) { d["arms"][1]["name"] = "fast"; }, "arms.1.name: repeats the arm name 'fast'");
  refused([](json& d) { d["arms"][1]["name"] = "../x"; }, "arms.1.name: '../x' must be letters");
  refused([](json& d) { d["claims"][0]["baseline"] = "medium"; }, "claims.0.baseline: unknown arm 'medium'");
  refused([](json& d) { d["profiles"]["full"]["seeds"] = json::array(); },
          "profiles.full.seeds: must list at least one seed");
  refused([](json& d) { d["profiles"]["full"]["seeds"] = {1, 1}; }, "profiles.full.seeds.1: repeats 1");
  refused([](json& d) { d["profiles"]["full"]["seeds"] = {1, "2"}; }, "profiles.full.seeds.1: must be an integer");
  refused([](json& d) { d["claims"][1].erase("range"); }, "claims.1.range: missing");
  refused([](json& d) { d["claims"][0]["better"] = "smaller"; }, "claims.0.better: must be lower or higher");
  refused([](json& d) { d["claims"][0]["range"] = {0, 1}; }, "claims.0.range: unknown key");
  refused([](json& d) { d["arms"][0]["overrides"] = {"seed=4"}; }, "arms.0.overrides.0: 'seed' is set by the runner");
  refused([](json& d) { d["evaluate"] = {"--out", "x"}; }, "evaluate.0: '--out' is set by the runner");
  refused([](json& d) { d.erase("arms"); }, "arms: missing");
  refused([](json& d) { d["log_steps"] = {0}; }, "log_steps.0: must be at least 1");
  refused(
      [](json& d) {
        d["classifier"] = {{"data", "x"}, {"epochs", 0}};
      },
      "classifier.epochs: must be a positive integer");
  refused(
      [](json& d) {
        d["classifier"] = {{"data", "x"}, {"test_fraction", 0.2}};
      },
      "classifier.test_fraction: needs classifier.split_from");
  refused(
      [](json& d) {
        d["classifier"] = {{"data", "x"}, {"split_from", "t10k"}, {"test_fraction", 1}};
      },
      "classifier.test_fraction: must be a number in (0, 1)");
  refused(
      [](json& d) {
        d["classifier"] = {{"data", "x"}, {"split_from", "test"}};
      },
      "classifier.split_from: must be \"train\" or \"t10k\"");
  refused([](json& d) { d["claims"][0]["treatment"] = "slow"; }, "claims.0.treatment: must differ from the baseline");
  json within = good;
  within["claims"][0]["treatment"] = "slow";
  within["claims"][0]["baseline_metric"] = "reconstruction.psnr_db";
  CHECK(parse_experiment(within).claims[0].baseline_metric == "reconstruction.psnr_db");
  CHECK_THROWS_WITH_AS(select_profile(parsed, "medium"),
                       "--profile: unknown profile 'medium' (the file has full, quick)", ValueError);

  std::ofstream(dir + "/bad.json") << "{\"name\": ";
  CHECK_THROWS_WITH_AS(read_experiment_file(dir + "/bad.json"), doctest::Contains("bad.json: not valid JSON"),
                       ValueError);
  json bad = good;
  bad["claims"][0]["kind"] = "delta";
  std::ofstream(dir + "/bad_kind.json") << bad.dump();
  CHECK_THROWS_WITH_AS(read_experiment_file(dir + "/bad_kind.json"),
                       doctest::Contains("bad_kind.json: claims.0.kind: must be one of"), ValueError);
}

TEST_CASE("tl_experiment runs 2 arms x 2 seeds end to end, and a second invocation reruns nothing") {
  const fs::path tool = fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "apps" / "tl_experiment";
  REQUIRE_MESSAGE(fs::exists(tool), tool.string(), " is not built (it is a build dependency of this test binary)");
  const std::string dir = scratch_directory("experiment_end_to_end");
  std::ofstream(dir + "/tiny.json") << tiny_experiment(dir).dump(2);
  const auto run = [&](const std::string& arguments) {
    const int status = std::system(
        ("cd '" + dir + "' && '" + tool.string() + "' tiny.json --out out " + arguments + " > output.txt 2>&1")
            .c_str());
    std::ifstream in(dir + "/output.txt");
    const std::string output(std::istreambuf_iterator<char>(in), {});
    MESSAGE(output);
    return std::pair{WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
  };

  const auto [status, output] = run("--jobs 2");
  REQUIRE(status == 0);
  CHECK(contains(output, "fast seed 1: done in"));
  const std::string out = dir + "/out";
  CHECK(fs::exists(out + "/report.html"));
  std::ifstream summary_in(out + "/summary.json");
  const json summary = json::parse(summary_in);
  CHECK(summary["experiment"] == "tiny");
  CHECK(summary["profile"] == "quick");
  CHECK(summary["profiles"] == json({"full", "quick"}));
  REQUIRE(summary["runs"].size() == 4);
  for (const json& r : summary["runs"]) {
    CHECK(r["status"] == "done");
    CHECK(r["seconds"].get<double>() > 0.0);
  }
  CHECK(summary["runs"][2]["directory"] == "slow/seed_0");

  // Every arm's metrics: 2 seeds each, values equal to the runs' own files.
  for (const char* arm : {"fast", "slow"}) {
    const json& m = summary["metrics"][arm];
    const json& mse = m["reconstruction.mse_per_feature"];
    REQUIRE(mse["n"] == 2);
    std::vector<double> values;
    for (int seed : {0, 1}) {
      std::ifstream in(out + "/" + arm + "/seed_" + std::to_string(seed) + "/evaluation.json");
      values.push_back(json::parse(in)["reconstruction"]["mse_per_feature"].get<double>());
    }
    CHECK(mse["values"] == json(values));
    CHECK(mse["mean"].get<double>() == doctest::Approx((values[0] + values[1]) / 2));
    CHECK(mse["std"].get<double>() == doctest::Approx(std::abs(values[0] - values[1]) / std::sqrt(2.0)));
    CHECK(mse["ci95"][1].get<double>() - mse["mean"].get<double>() ==
          doctest::Approx(12.7062047 * std::abs(values[0] - values[1]) / 2));
    CHECK(m["train.steps"]["mean"] == 8.0);
    CHECK(m["cost.steps_logged"]["mean"] == 8.0);
    CHECK(m.contains("log.total.step_4"));
    CHECK(m.contains("log.reconstruction.step_8"));
    CHECK_FALSE(m.contains("log.total.step_5"));
  }
  const json& difference = summary["claims"][0];
  CHECK(difference["pairs"] == 2);
  const json& fast = summary["metrics"]["fast"]["reconstruction.mse_per_feature"]["values"];
  const json& slow = summary["metrics"]["slow"]["reconstruction.mse_per_feature"]["values"];
  CHECK(difference["estimate"].get<double>() ==
        doctest::Approx(
            (fast[0].get<double>() - slow[0].get<double>() + fast[1].get<double>() - slow[1].get<double>()) / 2));
  CHECK(!difference["verdict"].get<std::string>().empty());
  const json& ratio = summary["claims"][1];
  CHECK(ratio["verdict"] == "reproduced");  // 8 steps / 8 steps: [1, 1] inside [0.9, 1.1]
  CHECK(ratio["ci95"] == json({1.0, 1.0}));

  // A second invocation runs nothing: every run's files keep their times.
  const std::string run_dir = out + "/slow/seed_1";
  const auto evaluation_time = fs::last_write_time(run_dir + "/evaluation.json");
  const auto log_time = fs::last_write_time(run_dir + "/run.log");
  const auto checkpoint_time = fs::last_write_time(run_dir + "/checkpoint.tlc");
  const auto [again, again_output] = run("");
  CHECK(again == 0);
  CHECK(contains(again_output, "[4/4] slow seed 1: done earlier (evaluation.json exists), skipped"));
  CHECK(fs::last_write_time(run_dir + "/evaluation.json") == evaluation_time);
  CHECK(fs::last_write_time(run_dir + "/run.log") == log_time);
  std::ifstream again_in(out + "/summary.json");
  const json again_summary = json::parse(again_in);
  CHECK(again_summary["runs"][3]["seconds"] == summary["runs"][3]["seconds"]);  // kept from the first summary
  CHECK(again_summary["metrics"] == summary["metrics"]);

  // A run that lost only its evaluation is resumed: tl_train has nothing left to train, tl_evaluate runs again.
  fs::remove(run_dir + "/evaluation.json");
  const auto [resumed, resumed_output] = run("");
  CHECK(resumed == 0);
  CHECK(contains(resumed_output, "[4/4] slow seed 1: resuming"));
  CHECK(contains(resumed_output, "[4/4] slow seed 1: done in"));
  CHECK(fs::exists(run_dir + "/evaluation.json"));
  CHECK(fs::last_write_time(run_dir + "/checkpoint.tlc") == checkpoint_time);

  // Another profile into the same directory is refused; --report-only runs nothing.
  const auto [other, other_output] = run("--profile full");
  CHECK(other == 1);
  CHECK(contains(other_output, "holds the runs of the profile 'quick'"));
  const auto [report, report_output] = run("--report-only");
  CHECK(report == 0);
  CHECK(contains(report_output, "4 runs done, 0 failed, 0 missing"));
}

TEST_CASE("tl_experiment records a failing run and goes on, exiting with 2") {
  const fs::path tool = fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "apps" / "tl_experiment";
  REQUIRE_MESSAGE(fs::exists(tool), tool.string(), " is not built (it is a build dependency of this test binary)");
  const std::string dir = scratch_directory("experiment_failure");
  json document = tiny_experiment(dir);
  document["arms"][1]["overrides"] = {"optimizer.type=sgdd"};  // refused by tl_train's config check
  document["profiles"]["quick"]["seeds"] = {0};
  std::ofstream(dir + "/tiny.json") << document.dump(2);
  const int status =
      std::system(("cd '" + dir + "' && '" + tool.string() + "' tiny.json --out out > output.txt 2>&1").c_str());
  std::ifstream in(dir + "/output.txt");
  const std::string output(std::istreambuf_iterator<char>(in), {});
  MESSAGE(output);
  CHECK((WIFEXITED(status) ? WEXITSTATUS(status) : -1) == 2);
  std::ifstream summary_in(dir + "/out/summary.json");
  const json summary = json::parse(summary_in);
  CHECK(summary["runs"][0]["status"] == "done");
  CHECK(summary["runs"][1]["status"] == "failed");
  CHECK(contains(summary["runs"][1]["error"].get<std::string>(), "tl_train exited with status 1"));
  CHECK(contains(summary["runs"][1]["error"].get<std::string>(), "unknown optimizer 'sgdd'"));
  CHECK(summary["metrics"]["slow"].empty());
  CHECK(summary["claims"][0]["verdict"] == "inconclusive");
  CHECK(fs::exists(dir + "/out/report.html"));
}

}  // namespace tl::testing
