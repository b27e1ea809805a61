// libFuzzer harness for the checkpoint reader. The input is a checkpoint without its closing CRC-32, which the
// harness appends, so that the fuzzer reaches the header and tensor table behind the checksum.
#include <zlib.h>

#include <vector>

#include "apps/trainer/checkpoint.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  const uint32_t crc = static_cast<uint32_t>(crc32(0L, data, static_cast<uInt>(size)));
  for (int shift = 0; shift < 32; shift += 8) bytes.push_back(static_cast<uint8_t>(crc >> shift));  // little-endian
  const std::string path = tl::fuzz::scratch_file(bytes.data(), bytes.size(), "checkpoint.tlc");
  tl::fuzz::read_or_reject([&] {
    const tl::train::Checkpoint checkpoint = tl::train::read_checkpoint(path);
    for (const auto& [name, tensor] : checkpoint.tensors)
      tl::fuzz::require(tensor.dtype() == tl::DType::Float32 && tensor.device() == tl::Device::CPU, "CPU float32");
  });
  return 0;
}
