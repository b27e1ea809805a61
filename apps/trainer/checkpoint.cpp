// Checkpoint serialisation with zlib's CRC-32 and POSIX fsync/rename for atomic replacement.
#include "apps/trainer/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>

namespace tl::train {
namespace {

constexpr char kMagic[8] = {'T', 'L', 'C', 'K', 'P', 'T', '1', '\n'};

void append(std::vector<unsigned char>& out, const void* data, size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  out.insert(out.end(), p, p + bytes);
}

void write_all(int fd, const std::vector<unsigned char>& bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t wrote = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (wrote < 0) {
      const int error = errno;
      ::close(fd);
      TL_FAIL(ValueError, "writing checkpoint '", path, "' failed: ", std::strerror(error));
    }
    done += static_cast<size_t>(wrote);
  }
}

}  // namespace

void write_checkpoint_atomically(const std::string& path, const Checkpoint& checkpoint) {
  nlohmann::json header = {{"meta", checkpoint.meta}, {"tensors", nlohmann::json::array()}};
  uint64_t offset = 0;
  for (const auto& [name, tensor] : checkpoint.tensors) {
    TL_CHECK(tensor.dtype() == DType::Float32, "checkpoint tensor '", name, "' is not float32");
    header["tensors"].push_back({{"name", name}, {"shape", tensor.shape()}, {"offset", offset}});
    offset += static_cast<uint64_t>(tensor.numel()) * sizeof(float);
  }
  const std::string header_text = header.dump();
  std::vector<unsigned char> bytes;
  bytes.reserve(sizeof(kMagic) + 8 + header_text.size() + offset + 4);
  append(bytes, kMagic, sizeof(kMagic));
  const uint64_t header_size = header_text.size();
  append(bytes, &header_size, sizeof(header_size));
  append(bytes, header_text.data(), header_text.size());
  for (const auto& [name, tensor] : checkpoint.tensors) {
    const std::vector<float> values = tensor.to_vector<float>();
    append(bytes, values.data(), values.size() * sizeof(float));
  }
  const uint32_t crc = static_cast<uint32_t>(crc32(0L, bytes.data(), static_cast<uInt>(bytes.size())));
  append(bytes, &crc, sizeof(crc));

  const std::filesystem::path target(path);
  const std::filesystem::path directory = target.has_parent_path() ? target.parent_path() : ".";
  std::filesystem::create_directories(directory);
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  TL_CHECK_AS(ValueError, fd >= 0, "cannot create '", temporary, "': ", std::strerror(errno));
  write_all(fd, bytes, temporary);
  TL_CHECK_AS(ValueError, ::fsync(fd) == 0, "fsync of '", temporary, "' failed: ", std::strerror(errno));
  ::close(fd);
  TL_CHECK_AS(ValueError, std::rename(temporary.c_str(), path.c_str()) == 0, "cannot rename '", temporary, "' to '",
              path, "': ", std::strerror(errno));
  const int dir_fd = ::open(directory.c_str(), O_RDONLY);
  if (dir_fd >= 0) {  // make the rename itself durable
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

Checkpoint read_checkpoint(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  TL_CHECK_AS(ValueError, file.good(), "cannot open checkpoint '", path, "'");
  const std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  TL_CHECK_AS(ValueError, bytes.size() >= sizeof(kMagic) + 12 && std::memcmp(bytes.data(), kMagic, 8) == 0, "'", path,
              "' is not a topolatent checkpoint (bad magic bytes or too short)");
  uint32_t stored_crc;
  std::memcpy(&stored_crc, bytes.data() + bytes.size() - 4, 4);
  const uint32_t crc = static_cast<uint32_t>(crc32(0L, bytes.data(), static_cast<uInt>(bytes.size() - 4)));
  TL_CHECK_AS(ValueError, crc == stored_crc, "checkpoint '", path, "' fails its CRC-32 check (corrupt or truncated)");
  uint64_t header_size;
  std::memcpy(&header_size, bytes.data() + 8, 8);
  TL_CHECK_AS(ValueError, 16 + header_size + 4 <= bytes.size(), "checkpoint '", path, "': header overruns the file");
  const nlohmann::json header = nlohmann::json::parse(bytes.begin() + 16, bytes.begin() + 16 + header_size);
  const size_t payload = 16 + header_size;
  Checkpoint checkpoint;
  checkpoint.meta = header.at("meta");
  for (const auto& entry : header.at("tensors")) {
    const Shape shape = entry.at("shape").get<Shape>();
    const uint64_t offset = entry.at("offset").get<uint64_t>();
    const size_t count = static_cast<size_t>(shape_numel(shape));
    TL_CHECK_AS(ValueError, payload + offset + count * sizeof(float) + 4 <= bytes.size(), "checkpoint '", path,
                "': tensor '", entry.at("name").get<std::string>(), "' overruns the file");
    std::vector<float> values(count);
    std::memcpy(values.data(), bytes.data() + payload + offset, count * sizeof(float));
    checkpoint.tensors.emplace_back(entry.at("name").get<std::string>(), Tensor::from_vector(values, shape));
  }
  return checkpoint;
}

}  // namespace tl::train
