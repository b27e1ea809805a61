// The main of every command-line tool and benchmark: CLI11 parses the arguments, and one wrapper turns usage
// errors and exceptions into messages and exit statuses, so that each tool declares its options and its work.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <vector>

namespace tl::cli {

// The exit statuses every tool shares; a tool may document more of its own (tl_reproduce 2, tl_train 3).
constexpr int kExitOk = 0;
constexpr int kExitError = 1;  // a usage error, bad input, or any other failure

// An exception kind that ends a tool with a status and a message label of its own.
struct ErrorExit {
  std::function<bool(const std::exception&)> matches;
  int status;
  std::string label;  // printed before the exception's message
};

template <class Kind>
ErrorExit exit_on(int status, std::string label) {
  return {[](const std::exception& e) { return dynamic_cast<const Kind*>(&e) != nullptr; }, status, std::move(label)};
}

// Parses argv into `app`, then runs `body` and returns its exit status. -h/--help prints the usage to stdout and
// returns 0. A usage error (an unknown, missing or malformed argument: a CLI::ParseError, also when `body` throws
// one, e.g. CLI::ValidationError for a combination CLI11 cannot express) prints "NAME: message" and a pointer to
// --help on stderr and returns 1. Any other exception prints "NAME: [label: ]message" on stderr and returns the
// status of the first entry of `exits` that matches it, 1 when none does.
int run_main(CLI::App& app, int argc, char** argv, const std::function<int()>& body,
             const std::vector<ErrorExit>& exits = {});

// Validators with plain messages ("--steps: must be at least 2, got '1'"); CLI11's PositiveNumber and Range name
// their type's full limits instead.
CLI::Validator positive();
CLI::Validator at_least(int64_t minimum);

// The positional arguments of the config-driven tools (tl_train, tl_reproduce): a CONFIG.json file and
// key.path=value overrides of its keys, in any order; an argument holding '=' is an override. A second file is
// a usage error.
struct ConfigArguments {
  std::string config;                  // empty when none was given
  std::vector<std::string> overrides;  // in command-line order
};
void add_config_arguments(CLI::App& app, ConfigArguments& arguments, const std::string& description);

}  // namespace tl::cli
