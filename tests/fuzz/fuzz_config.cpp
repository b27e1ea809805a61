// libFuzzer harness for the trainer's config reader: the input up to its first NUL byte is the JSON file, each
// NUL-separated piece after it a "key.path=value" override, applied before validation as tl_train does.
#include "apps/trainer/config.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t end = std::min(input.find('\0'), input.size());
  const std::string path = tl::fuzz::scratch_file(data, end, "config.json");
  tl::fuzz::read_or_reject([&] {
    nlohmann::json document = tl::train::read_config_file(path);
    for (size_t start = end + 1; start <= input.size();) {
      const size_t stop = std::min(input.find('\0', start), input.size());
      tl::train::apply_override(document, input.substr(start, stop - start));
      start = stop + 1;
    }
    tl::train::parse_config(document);
  });
  return 0;
}
