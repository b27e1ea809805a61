// The shared main of the tools: argument parsing and the mapping of errors to messages and exit statuses.
#include "apps/cli/cli.h"

#include <cstdio>

namespace tl::cli {
namespace {

CLI::Validator number_check(std::function<bool(double)> accept, const std::string& requirement,
                            const std::string& description) {
  return CLI::Validator(
      [accept, requirement](std::string& input) -> std::string {
        double value = 0.0;
        if (CLI::detail::lexical_cast(input, value) && accept(value)) return {};
        return "must be " + requirement + ", got '" + input + "'";
      },
      description);
}

}  // namespace

int run_main(CLI::App& app, int argc, char** argv, const std::function<int()>& body,
             const std::vector<ErrorExit>& exits) {
  const std::string name = app.get_name();
  try {
    app.parse(argc, argv);
    return body();
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);  // --help
    std::fprintf(stderr, "%s: %s\nRun with --help for more information.\n", name.c_str(), e.what());
    return kExitError;
  } catch (const std::exception& e) {
    for (const ErrorExit& exit : exits) {
      if (!exit.matches(e)) continue;
      std::fprintf(stderr, "%s: %s: %s\n", name.c_str(), exit.label.c_str(), e.what());
      return exit.status;
    }
    std::fprintf(stderr, "%s: %s\n", name.c_str(), e.what());
    return kExitError;
  }
}

CLI::Validator positive() {
  return number_check([](double value) { return value > 0.0; }, "positive", "POSITIVE");
}

CLI::Validator at_least(int64_t minimum) {
  const std::string bound = std::to_string(minimum);
  return number_check([minimum](double value) { return value >= static_cast<double>(minimum); }, "at least " + bound,
                      "MIN " + bound);
}

void add_config_arguments(CLI::App& app, ConfigArguments& arguments, const std::string& description) {
  app.add_option_function<std::vector<std::string>>(
         "ARGUMENTS",
         [&arguments](const std::vector<std::string>& words) {
           for (const std::string& word : words) {
             if (word.find('=') != std::string::npos) {
               arguments.overrides.push_back(word);
             } else if (arguments.config.empty()) {
               arguments.config = word;
             } else {
               throw CLI::ValidationError("unexpected argument '" + word + "': one CONFIG file, then key.path=value");
             }
           }
         },
         description)
      ->type_name("CONFIG.json | key.path=value");
}

}  // namespace tl::cli
