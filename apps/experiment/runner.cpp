// The experiment runner: the file's validation, the runs as child processes, the summary and the report.
#include "apps/experiment/runner.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "apps/experiment/html_report.h"
#include "apps/trainer/checkpoint.h"
#include "core/base/error.h"

extern char** environ;

namespace tl::experiment {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// ---------------------------------------------------------------------------------------------------------------
// Validation of the experiment file.

[[noreturn]] void bad(const std::string& key, const std::string& message) {
  throw ValueError(key + ": " + message);
}

std::string join_key(const std::string& parent, const std::string& name) {
  return parent.empty() ? name : parent + "." + name;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

void require_object(const json& value, const std::string& key) {
  if (!value.is_object()) bad(key.empty() ? "(top level)" : key, "must be an object");
}

// Refuses a key of `object` outside `allowed`.
void check_keys(const json& object, const std::string& key, const std::vector<std::string>& allowed) {
  for (const auto& [name, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
      bad(join_key(key, name), "unknown key (allowed: " + joined(allowed) + ")");
  }
}

std::string string_field(const json& object, const std::string& key, const std::string& name, bool required,
                         const std::string& fallback = "") {
  const std::string full = join_key(key, name);
  if (!object.contains(name)) {
    if (required) bad(full, "missing");
    return fallback;
  }
  if (!object.at(name).is_string()) bad(full, "must be a string");
  const std::string value = object.at(name).get<std::string>();
  if (required && value.empty()) bad(full, "must not be empty");
  return value;
}

std::vector<std::string> string_list(const json& object, const std::string& key, const std::string& name) {
  const std::string full = join_key(key, name);
  std::vector<std::string> out;
  if (!object.contains(name)) return out;
  if (!object.at(name).is_array()) bad(full, "must be a list of strings");
  for (size_t i = 0; i < object.at(name).size(); ++i) {
    const json& item = object.at(name).at(i);
    if (!item.is_string()) bad(full + "." + std::to_string(i), "must be a string");
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::vector<int64_t> integer_list(const json& object, const std::string& key, const std::string& name,
                                  int64_t minimum) {
  const std::string full = join_key(key, name);
  std::vector<int64_t> out;
  if (!object.at(name).is_array()) bad(full, "must be a list of integers");
  for (size_t i = 0; i < object.at(name).size(); ++i) {
    const json& item = object.at(name).at(i);
    const std::string item_key = full + "." + std::to_string(i);
    if (!item.is_number_integer()) bad(item_key, "must be an integer");
    if (item.is_number_unsigned() && item.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      bad(item_key, "is too large");
    const int64_t value = item.get<int64_t>();
    if (value < minimum)
      bad(item_key, "must be at least " + std::to_string(minimum) + ", got " + std::to_string(value));
    if (std::find(out.begin(), out.end(), value) != out.end()) bad(item_key, "repeats " + std::to_string(value));
    out.push_back(value);
  }
  return out;
}

// A name used as a directory: letters, digits, '_', '-', '.', not starting with '.' or '-'.
void check_directory_name(const std::string& name, const std::string& key) {
  const bool safe =
      !name.empty() && name[0] != '.' && name[0] != '-' && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
      });
  if (!safe) bad(key, "'" + name + "' must be letters, digits, '_', '-' or '.' (not first), as it names a directory");
}

// tl_train overrides: key.path=value, not a key the runner sets.
void check_overrides(const std::vector<std::string>& overrides, const std::string& key) {
  for (size_t i = 0; i < overrides.size(); ++i) {
    const std::string item_key = key + "." + std::to_string(i);
    const size_t equals = overrides[i].find('=');
    if (equals == std::string::npos || equals == 0 || overrides[i][0] == '-')
      bad(item_key, "'" + overrides[i] + "' is not key.path=value");
    const std::string name = overrides[i].substr(0, equals);
    if (name == "seed" || name == "output" || name == "progress")
      bad(item_key, "'" + name + "' is set by the runner (seed=S output=OUT/ARM/seed_S progress=false)");
  }
}

// tl_evaluate arguments: not those the runner sets.
void check_evaluate(const std::vector<std::string>& arguments, const std::string& key) {
  for (size_t i = 0; i < arguments.size(); ++i) {
    const std::string& a = arguments[i];
    for (const char* reserved : {"--out", "--classifier", "--quiet"}) {
      if (a == reserved || a.rfind(std::string(reserved) + "=", 0) == 0)
        bad(key + "." + std::to_string(i), "'" + std::string(reserved) + "' is set by the runner");
    }
  }
}

double finite_number(const json& value, const std::string& key) {
  if (!value.is_number()) bad(key, "must be a number");
  const double v = value.get<double>();
  if (!std::isfinite(v)) bad(key, "must be finite");
  return v;
}

Claim parse_claim(const json& document, const std::string& key, const std::vector<Arm>& arms) {
  require_object(document, key);
  Claim claim;
  claim.kind = string_field(document, key, "kind", true);
  if (claim.kind != "difference" && claim.kind != "relative" && claim.kind != "ratio")
    bad(key + ".kind", "must be one of difference, relative, ratio (got '" + claim.kind + "')");
  const bool difference = claim.kind == "difference";
  check_keys(document, key,
             {"text", "source", "metric", "baseline_metric", "kind", difference ? "better" : "range", "baseline",
              "treatment"});
  claim.text = string_field(document, key, "text", true);
  claim.source = string_field(document, key, "source", false);
  claim.metric = string_field(document, key, "metric", true);
  if (document.contains("baseline_metric"))
    claim.baseline_metric = string_field(document, key, "baseline_metric", true);
  if (difference) {
    claim.better = string_field(document, key, "better", true);
    if (claim.better != "lower" && claim.better != "higher")
      bad(key + ".better", "must be lower or higher (got '" + claim.better + "')");
  } else {
    const std::string range_key = key + ".range";
    if (!document.contains("range")) bad(range_key, "missing: a " + claim.kind + " claim needs [low, high]");
    const json& range = document.at("range");
    if (!range.is_array() || range.size() != 2) bad(range_key, "must be [low, high]");
    claim.low = finite_number(range.at(0), range_key + ".0");
    claim.high = finite_number(range.at(1), range_key + ".1");
    if (claim.low > claim.high) bad(range_key, "low must not exceed high");
  }
  const auto arm_name = [&](const std::string& name) {
    const std::string value = string_field(document, key, name, true);
    if (std::none_of(arms.begin(), arms.end(), [&](const Arm& a) { return a.name == value; })) {
      std::vector<std::string> names;
      for (const Arm& a : arms) names.push_back(a.name);
      bad(key + "." + name, "unknown arm '" + value + "' (arms: " + joined(names) + ")");
    }
    return value;
  };
  claim.baseline = arm_name("baseline");
  claim.treatment = arm_name("treatment");
  if (claim.baseline == claim.treatment && (claim.baseline_metric.empty() || claim.baseline_metric == claim.metric))
    bad(key + ".treatment", "must differ from the baseline (or give another baseline_metric)");
  return claim;
}

// ---------------------------------------------------------------------------------------------------------------
// Child processes.

struct Outcome {
  int status = 0;         // the exit status; 128 + N when killed by signal N; -1 when it could not start
  std::string output;     // what it wrote (standard output and error)
  std::string last_line;  // its last non-empty line, or why it could not start / was killed
};

std::string command_line(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) {
    const bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$`*?[]{}()<>|&;#~") == std::string::npos;
    out += (out.empty() ? "" : " ") + (plain ? a : "'" + a + "'");
  }
  return out;
}

std::string last_nonempty_line(const std::string& text) {
  std::istringstream lines(text);
  std::string line, last;
  while (std::getline(lines, line)) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  }
  return last;
}

// Runs argv (argv[0] a path; no shell) with standard input from /dev/null and standard output and error appended
// to `log_path`, after a "$ command" line; waits for it.
Outcome run_logged(const std::vector<std::string>& argv, const std::string& log_path,
                   const std::vector<std::string>& environment) {
  Outcome outcome;
  const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cannot open '" + log_path + "': " + std::strerror(errno));
  const std::string header = "$ " + command_line(argv) + "\n";
  if (::write(fd, header.data(), header.size()) != static_cast<ssize_t>(header.size())) {
    ::close(fd);
    throw Error("cannot write '" + log_path + "': " + std::strerror(errno));
  }
  struct stat info {};
  ::fstat(fd, &info);
  const off_t start = info.st_size;

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fd, 1);
  posix_spawn_file_actions_adddup2(&actions, fd, 2);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& e : environment) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    ::close(fd);
    outcome.status = -1;
    outcome.last_line = "cannot start '" + argv[0] + "': " + std::strerror(spawned);
    return outcome;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ::close(fd);

  std::ifstream in(log_path, std::ios::binary);
  in.seekg(start);
  std::ostringstream text;
  text << in.rdbuf();
  outcome.output = text.str();
  outcome.last_line = last_nonempty_line(outcome.output);
  if (WIFEXITED(status)) {
    outcome.status = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    outcome.status = 128 + WTERMSIG(status);
    outcome.last_line = fs::path(argv[0]).filename().string() + " was killed by signal " +
                        std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
  }
  return outcome;
}

std::string failure(const std::string& tool, const Outcome& o) {
  if (o.status < 0) return o.last_line;
  return tool + " exited with status " + std::to_string(o.status) + (o.last_line.empty() ? "" : ": " + o.last_line);
}

// ---------------------------------------------------------------------------------------------------------------
// The runs.

struct Context {
  const Experiment* experiment;
  const Profile* profile;
  std::string out, tools;
  std::string classifier;                // OUT/classifier/lenet.tlc, or empty
  std::vector<std::string> environment;  // of every child (child_environment)
};

bool exists(const std::string& path) {
  std::error_code error;
  return fs::exists(path, error);
}

// The environment of the children: this process's, where `runs` run side by side and the user did not set
// OMP_NUM_THREADS, with OMP_NUM_THREADS = max(1, cores / runs). OpenMP teams larger than their share of the cores
// spin in barriers against each other and slow every run several-fold (issue 15's busy-machine measurements).
// An MPI launcher's variables are left out: each child is a run of its own, not a rank of this process's group
// (apps/trainer/process_group.h reads them).
std::vector<std::string> child_environment(size_t runs) {
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string variable = *e;
    const bool launcher =
        variable.rfind("OMPI_", 0) == 0 || variable.rfind("PMI_", 0) == 0 || variable.rfind("PMIX_", 0) == 0;
    if (!launcher) environment.push_back(variable);
  }
  if (runs >= 2 && std::getenv("OMP_NUM_THREADS") == nullptr) {
    const size_t cores = std::max(1u, std::thread::hardware_concurrency());
    environment.push_back("OMP_NUM_THREADS=" + std::to_string(std::max<size_t>(1, cores / runs)));
  }
  return environment;
}

// Trains (or resumes) and evaluates one run; the record's status is done or failed.
void execute(const Context& c, const Arm& arm, RunRecord& run) {
  const std::string dir = c.out + "/" + run.directory;
  fs::create_directories(dir);
  const std::string log = dir + "/run.log";
  const std::string checkpoint = dir + "/checkpoint.tlc";
  const std::string train = c.tools + "/tl_train";
  if (exists(checkpoint)) {
    const Outcome o = run_logged({train, "--resume", checkpoint, "progress=false"}, log, c.environment);
    if (o.status != 0 && o.output.find("nothing is left to train") == std::string::npos) {
      run.status = "failed";
      run.error = failure("tl_train --resume", o);
      return;
    }
  } else {
    std::vector<std::string> argv{train, arm.config};
    for (const std::string& o : arm.overrides) argv.push_back(o);
    for (const std::string& o : c.profile->overrides) argv.push_back(o);
    argv.push_back("seed=" + std::to_string(run.seed));
    argv.push_back("output=" + dir);
    argv.push_back("progress=false");
    // An earlier attempt that stopped before its first checkpoint left a log (or a report) without one: start over.
    for (const char* name : {"log.jsonl", "report.json", "report.md", "best.tlc"}) {
      if (exists(dir + "/" + name)) {
        argv.push_back("--force");
        break;
      }
    }
    const Outcome o = run_logged(argv, log, c.environment);
    if (o.status != 0) {
      run.status = "failed";
      run.error = failure("tl_train", o);
      return;
    }
  }
  // A run with a validation split kept its best state in best.tlc: that is the model it reports, as the trainer does.
  const std::string best = dir + "/best.tlc";
  std::vector<std::string> argv{c.tools + "/tl_evaluate", exists(best) ? best : checkpoint};
  for (const std::string& a : c.experiment->evaluate) argv.push_back(a);
  for (const std::string& a : c.profile->evaluate) argv.push_back(a);
  if (!c.classifier.empty()) {
    argv.push_back("--classifier");
    argv.push_back(c.classifier);
  }
  argv.push_back("--quiet");
  const Outcome o = run_logged(argv, log, c.environment);
  if (o.status != 0 || !exists(dir + "/evaluation.json")) {
    run.status = "failed";
    run.error = o.status != 0 ? failure("tl_evaluate", o) : "tl_evaluate wrote no evaluation.json";
    return;
  }
  run.status = "done";
  run.error.clear();
}

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", seconds);
  return text;
}

json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return nullptr;
  return json::parse(in, nullptr, false);
}

}  // namespace

Experiment parse_experiment(const json& document) {
  require_object(document, "");
  check_keys(document, "",
             {"name", "title", "description", "arms", "profiles", "evaluate", "classifier", "log_steps", "claims"});
  Experiment e;
  e.name = string_field(document, "", "name", true);
  check_directory_name(e.name, "name");
  e.title = string_field(document, "", "title", false, e.name);
  e.description = string_field(document, "", "description", false);

  if (!document.contains("arms")) bad("arms", "missing");
  if (!document.at("arms").is_array() || document.at("arms").empty()) bad("arms", "must be a non-empty list");
  for (size_t i = 0; i < document.at("arms").size(); ++i) {
    const std::string key = "arms." + std::to_string(i);
    const json& a = document.at("arms").at(i);
    require_object(a, key);
    check_keys(a, key, {"name", "label", "config", "overrides"});
    Arm arm;
    arm.name = string_field(a, key, "name", true);
    check_directory_name(arm.name, key + ".name");
    if (arm.name == "classifier") bad(key + ".name", "'classifier' is the classifier's directory");
    for (const Arm& earlier : e.arms) {
      if (earlier.name == arm.name) bad(key + ".name", "repeats the arm name '" + arm.name + "'");
    }
    arm.label = string_field(a, key, "label", false, arm.name);
    arm.config = string_field(a, key, "config", true);
    if (!arm.config.empty() && arm.config[0] == '-') bad(key + ".config", "'" + arm.config + "' is not a file name");
    std::error_code error;
    if (!fs::is_regular_file(arm.config, error))
      bad(key + ".config", "file '" + arm.config + "' not found (paths are relative to the working directory)");
    arm.overrides = string_list(a, key, "overrides");
    check_overrides(arm.overrides, key + ".overrides");
    e.arms.push_back(arm);
  }

  if (!document.contains("profiles")) bad("profiles", "missing");
  if (!document.at("profiles").is_object() || document.at("profiles").empty())
    bad("profiles", "must be a non-empty object of named profiles");
  for (const auto& [name, p] : document.at("profiles").items()) {
    const std::string key = "profiles." + name;
    require_object(p, key);
    check_keys(p, key, {"seeds", "overrides", "evaluate"});
    Profile profile;
    profile.name = name;
    if (!p.contains("seeds")) bad(key + ".seeds", "missing");
    profile.seeds = integer_list(p, key, "seeds", 0);
    if (profile.seeds.empty()) bad(key + ".seeds", "must list at least one seed");
    profile.overrides = string_list(p, key, "overrides");
    check_overrides(profile.overrides, key + ".overrides");
    profile.evaluate = string_list(p, key, "evaluate");
    check_evaluate(profile.evaluate, key + ".evaluate");
    e.profiles.push_back(profile);
  }

  e.evaluate = string_list(document, "", "evaluate");
  check_evaluate(e.evaluate, "evaluate");
  if (document.contains("classifier")) {
    const json& c = document.at("classifier");
    require_object(c, "classifier");
    check_keys(c, "classifier", {"data", "epochs", "split_from", "test_fraction"});
    ClassifierRequest request;
    request.data = string_field(c, "classifier", "data", true);
    request.split_from = string_field(c, "classifier", "split_from", false);
    if (!request.split_from.empty() && request.split_from != "train" && request.split_from != "t10k")
      bad("classifier.split_from", "must be \"train\" or \"t10k\"");
    if (c.contains("test_fraction")) {
      if (request.split_from.empty()) bad("classifier.test_fraction", "needs classifier.split_from");
      const json& f = c.at("test_fraction");
      if (!f.is_number() || !(f.get<double>() > 0.0 && f.get<double>() < 1.0))
        bad("classifier.test_fraction", "must be a number in (0, 1)");
      request.test_fraction = f.get<double>();
    }
    if (c.contains("epochs")) {
      if (!c.at("epochs").is_number_integer() || c.at("epochs").get<int64_t>() < 1)
        bad("classifier.epochs", "must be a positive integer");
      request.epochs = c.at("epochs").get<int64_t>();
    }
    e.classifier = request;
  }
  if (document.contains("log_steps")) e.log_steps = integer_list(document, "", "log_steps", 1);
  if (document.contains("claims")) {
    if (!document.at("claims").is_array()) bad("claims", "must be a list");
    for (size_t i = 0; i < document.at("claims").size(); ++i)
      e.claims.push_back(parse_claim(document.at("claims").at(i), "claims." + std::to_string(i), e.arms));
  }
  return e;
}

Experiment read_experiment_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ValueError(path + ": cannot read the experiment file");
  json document;
  try {
    document = json::parse(in);
  } catch (const json::parse_error& error) {
    throw ValueError(path + ": not valid JSON: " + error.what());
  }
  try {
    return parse_experiment(document);
  } catch (const ValueError& error) {
    throw ValueError(path + ": " + error.what());
  }
}

const Profile& select_profile(const Experiment& experiment, const std::string& name) {
  std::vector<std::string> names;
  for (const Profile& p : experiment.profiles) {
    if (p.name == name) return p;
    names.push_back(p.name);
  }
  throw ValueError("--profile: unknown profile '" + name + "' (the file has " + joined(names) + ")");
}

std::string executable_directory() {
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (error) throw Error("cannot read /proc/self/exe: " + error.message());
  return self.parent_path().string();
}

int run_experiment(const std::string& file, const RunnerOptions& options) {
  if (options.jobs < 1) throw ValueError("--jobs: must be at least 1");
  const Experiment experiment = read_experiment_file(file);
  const Profile& profile = select_profile(experiment, options.profile);
  const std::string out = options.out.empty() ? "runs/experiments/" + experiment.name : options.out;
  const std::string tools = options.tools_directory.empty() ? executable_directory() : options.tools_directory;
  fs::create_directories(out);

  // One output directory holds one profile's runs: a run directory does not say which profile trained it.
  const std::string marker = out + "/experiment.json";
  const json previous_marker = read_json_file(marker);
  if (previous_marker.is_object() && previous_marker.contains("profile") &&
      previous_marker.at("profile") != profile.name) {
    throw ValueError("'" + out + "' holds the runs of the profile '" +
                     previous_marker.at("profile").get<std::string>() + "', not '" + profile.name +
                     "': give another --out DIR");
  }
  if (!options.report_only) {
    std::ifstream in(file);
    train::write_file_atomically(
        marker,
        json{{"file", file}, {"profile", profile.name}, {"experiment", json::parse(in, nullptr, false)}}.dump(2) +
            "\n");
  }

  // The seconds (and errors) of runs finished by an earlier invocation, from its summary.
  std::map<std::pair<std::string, int64_t>, json> earlier;
  const json previous_summary = read_json_file(out + "/summary.json");
  if (previous_summary.is_object() && previous_summary.contains("runs") && previous_summary.at("runs").is_array()) {
    for (const json& r : previous_summary.at("runs")) {
      if (r.is_object() && r.contains("arm") && r.at("arm").is_string() && r.contains("seed") &&
          r.at("seed").is_number_integer())
        earlier[{r.at("arm").get<std::string>(), r.at("seed").get<int64_t>()}] = r;
    }
  }

  std::vector<RunRecord> runs;
  std::vector<const Arm*> run_arms;
  for (const Arm& arm : experiment.arms) {
    for (int64_t seed : profile.seeds) {
      RunRecord run;
      run.arm = arm.name;
      run.seed = seed;
      run.directory = arm.name + "/seed_" + std::to_string(seed);
      const auto found = earlier.find({arm.name, seed});
      if (exists(out + "/" + run.directory + "/evaluation.json")) {
        run.status = "done";
        if (found != earlier.end() && found->second.contains("seconds") && found->second.at("seconds").is_number())
          run.seconds = found->second.at("seconds").get<double>();
      } else if (options.report_only && found != earlier.end() && found->second.value("status", "") == "failed") {
        run.status = "failed";
        run.error = found->second.value("error", "");
      }
      runs.push_back(run);
      run_arms.push_back(&arm);
    }
  }

  if (!options.report_only) {
    const auto to_run = static_cast<size_t>(
        std::count_if(runs.begin(), runs.end(), [](const RunRecord& r) { return r.status != "done"; }));
    const bool any_to_run = to_run > 0;
    // The runs left share the cores (the classifier, trained before them, has them all).
    const size_t workers = std::min<size_t>(static_cast<size_t>(options.jobs), std::max<size_t>(to_run, 1));
    Context context{&experiment, &profile, out, tools, "", child_environment(workers)};
    if (experiment.classifier && any_to_run) {
      const std::string directory = out + "/classifier";
      context.classifier = directory + "/lenet.tlc";
      if (!exists(context.classifier)) {
        fs::create_directories(directory);
        std::fprintf(stderr, "classifier: training tl_classify into %s\n", directory.c_str());
        const ClassifierRequest& request = *experiment.classifier;
        std::vector<std::string> argv{tools + "/tl_classify",
                                      request.data,
                                      "--epochs",
                                      std::to_string(request.epochs),
                                      "--seed",
                                      "0",
                                      "--out",
                                      directory};
        if (!request.split_from.empty()) {
          std::ostringstream fraction;
          fraction.precision(17);
          fraction << request.test_fraction;
          argv.insert(argv.end(), {"--split-from", request.split_from, "--test-fraction", fraction.str()});
        }
        const Outcome o = run_logged(argv, directory + "/run.log", child_environment(1));
        if (o.status != 0) throw Error(failure("tl_classify", o) + " (its output is in " + directory + "/run.log)");
      }
    } else if (experiment.classifier) {
      context.classifier = out + "/classifier/lenet.tlc";
    }

    const size_t total = runs.size();
    std::mutex print_mutex;
    std::atomic<size_t> next{0};
    const auto say = [&](size_t index, const RunRecord& run, const std::string& what) {
      std::lock_guard<std::mutex> lock(print_mutex);
      std::fprintf(stderr, "[%zu/%zu] %s seed %lld: %s\n", index + 1, total, run.arm.c_str(),
                   static_cast<long long>(run.seed), what.c_str());
      std::fflush(stderr);
    };
    const auto worker = [&] {
      for (size_t i = next++; i < total; i = next++) {
        RunRecord& run = runs[i];
        if (run.status == "done") {
          say(i, run, "done earlier (evaluation.json exists), skipped");
          continue;
        }
        const bool resumed = exists(out + "/" + run.directory + "/checkpoint.tlc");
        say(i, run, resumed ? "resuming" : "started");
        const auto start = std::chrono::steady_clock::now();
        try {
          execute(context, *run_arms[i], run);
        } catch (const std::exception& error) {
          run.status = "failed";
          run.error = error.what();
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        run.seconds = seconds;
        if (run.status == "done") {
          say(i, run, "done in " + seconds_text(seconds));
        } else {
          say(i, run,
              "failed after " + seconds_text(seconds) + ": " + run.error + " (log: " + out + "/" + run.directory +
                  "/run.log)");
        }
      }
    };
    std::vector<std::thread> threads;
    for (size_t t = 0; t < workers; ++t) threads.emplace_back(worker);
    for (std::thread& t : threads) t.join();
  }

  std::map<std::pair<std::string, int64_t>, RunMetrics> metrics;
  for (RunRecord& run : runs) {
    if (run.status != "done") continue;
    try {
      metrics[{run.arm, run.seed}] = read_run_metrics(out + "/" + run.directory, experiment.log_steps);
    } catch (const std::exception& error) {
      run.status = "failed";
      run.error = error.what();
    }
  }
  const json summary = build_summary(experiment, profile, runs, metrics);
  train::write_file_atomically(out + "/summary.json", summary.dump(2) + "\n");
  const std::string page = write_html_report(summary, out);

  size_t done = 0, failed = 0, missing = 0;
  for (const RunRecord& run : runs) {
    done += run.status == "done";
    failed += run.status == "failed";
    missing += run.status == "missing";
  }
  std::printf("%s (%s profile): %zu runs done, %zu failed, %zu missing\n", experiment.name.c_str(),
              profile.name.c_str(), done, failed, missing);
  for (const json& claim : summary.at("claims")) {
    std::printf("  %s: %s (%s)\n", claim.at("verdict").get<std::string>().c_str(),
                claim.at("text").get<std::string>().c_str(), claim.at("reason").get<std::string>().c_str());
  }
  std::printf("summary: %s/summary.json\nreport: %s\n", out.c_str(), page.c_str());
  std::fflush(stdout);
  return failed == 0 ? 0 : 2;
}

}  // namespace tl::experiment
