// Checkpoint serialisation with zlib's CRC-32, POSIX fsync/rename for atomic replacement, and a reader that checks
// every header field against the bytes present (with no arithmetic that can wrap).
#include "apps/trainer/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

namespace tl::train {
namespace {

using nlohmann::json;

constexpr char kMagic[8] = {'T', 'L', 'C', 'K', 'P', 'T', '1', '\n'};
constexpr size_t kPrefixBytes = sizeof(kMagic) + sizeof(uint64_t);  // the magic, then the header's size
constexpr size_t kCrcBytes = sizeof(uint32_t);
constexpr uint64_t kMaxElements = uint64_t(1) << 62;  // no tensor is larger; keeps every size product in int64_t

uint32_t crc_of(const unsigned char* data, size_t size) {
  return static_cast<uint32_t>(crc32_z(0L, data, size));
}

void append(std::string& out, const void* data, size_t bytes) {
  out.append(static_cast<const char*>(data), bytes);
}

// Writes all of `bytes` to `fd` and flushes them to the disk; false, with errno set, on failure.
bool write_and_sync(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t wrote = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) {
      if (wrote == 0) errno = ENOSPC;
      return false;
    }
    done += static_cast<size_t>(wrote);
  }
  return ::fsync(fd) == 0;
}

// Makes a rename inside `directory` durable (where the file system supports syncing a directory).
void sync_directory(const std::filesystem::path& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// The header's JSON: an object with a "meta" object and a "tensors" list.
json parse_header(const unsigned char* text, size_t size, const std::string& name) {
  json header;
  try {
    header = json::parse(text, text + size);
  } catch (const json::exception& e) {
    TL_FAIL(ValueError, "checkpoint '", name, "': its header is not valid JSON (", e.what(), ")");
  }
  TL_CHECK_AS(ValueError,
              header.is_object() && header.contains("meta") && header.at("meta").is_object() &&
                  header.contains("tensors") && header.at("tensors").is_array(),
              "checkpoint '", name, "': its header must be an object with a \"meta\" object and a \"tensors\" list");
  return header;
}

// The element count of a stored shape, read into `shape`: every extent an integer >= 0, the product of the nonzero
// ones at most kMaxElements.
uint64_t element_count(const json& extents, Shape& shape, const std::string& where) {
  uint64_t product = 1;
  bool empty = false;
  for (const json& extent : extents) {
    TL_CHECK_AS(ValueError, extent.is_number_unsigned(), where, ": shape ", extents.dump(), " must list integers >= 0");
    const uint64_t n = extent.get<uint64_t>();
    empty = empty || n == 0;
    if (n != 0) {
      TL_CHECK_AS(ValueError, product <= kMaxElements / n, where, ": shape ", extents.dump(), " is too large");
      product *= n;
    }
    shape.push_back(static_cast<int64_t>(n));
  }
  return empty ? 0 : product;
}

// The tensors of the table: they are stored back to back in table order, so each must start where the previous
// one ended, fit in the payload, and the last must end where the payload does.
std::vector<std::pair<std::string, Tensor>> read_tensors(const json& table, const unsigned char* payload,
                                                         size_t payload_size, const std::string& name) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const json& entry : table) {
    const std::string where = "checkpoint '" + name + "': tensor entry " + std::to_string(tensors.size());
    TL_CHECK_AS(ValueError,
                entry.is_object() && entry.contains("name") && entry.at("name").is_string() &&
                    entry.contains("shape") && entry.at("shape").is_array() && entry.contains("offset") &&
                    entry.at("offset").is_number_unsigned(),
                where, " must hold a \"name\" string, a \"shape\" list and an \"offset\" integer >= 0");
    const std::string tensor = entry.at("name").get<std::string>();
    TL_CHECK_AS(ValueError, names.insert(tensor).second, "checkpoint '", name, "' holds tensor '", tensor, "' twice");
    TL_CHECK_AS(ValueError, entry.at("offset").get<uint64_t>() == offset, where, " ('", tensor, "') starts at byte ",
                entry.at("offset").get<uint64_t>(), " of the payload, expected ", offset,
                " (tensors must neither overlap nor leave gaps)");
    Shape shape;
    const uint64_t count = element_count(entry.at("shape"), shape, where + " ('" + tensor + "')");
    TL_CHECK_AS(ValueError, count <= (payload_size - offset) / sizeof(float), "checkpoint '", name, "': tensor '",
                tensor, "' overruns the file");
    std::vector<float> values(count);
    if (count > 0) std::memcpy(values.data(), payload + offset, count * sizeof(float));
    tensors.emplace_back(tensor, Tensor::from_vector(values, shape));
    offset += count * sizeof(float);
  }
  TL_CHECK_AS(ValueError, offset == payload_size, "checkpoint '", name, "': ", payload_size - offset,
              " bytes after the last tensor belong to none");
  return tensors;
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& bytes) {
  const std::filesystem::path target(path);
  const std::filesystem::path directory = target.has_parent_path() ? target.parent_path() : ".";
  std::filesystem::create_directories(directory);
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  TL_CHECK(fd >= 0, "cannot create '", temporary, "': ", std::strerror(errno), " ('", path, "' is as it was)");
  int error = write_and_sync(fd, bytes) ? 0 : errno;  // the first failure's
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error == 0 && std::rename(temporary.c_str(), path.c_str()) != 0) error = errno;
  if (error != 0) {
    ::unlink(temporary.c_str());
    TL_FAIL(Error, "writing '", path, "' failed: ", std::strerror(error), " (the partial '", temporary,
            "' was removed; '", path, "' is as it was)");
  }
  sync_directory(directory);
}

void write_checkpoint_atomically(const std::string& path, const Checkpoint& checkpoint) {
  json header = {{"meta", checkpoint.meta}, {"tensors", json::array()}};
  uint64_t offset = 0;
  for (const auto& [name, tensor] : checkpoint.tensors) {
    TL_CHECK(tensor.dtype() == DType::Float32, "checkpoint tensor '", name, "' is not float32");
    header["tensors"].push_back({{"name", name}, {"shape", tensor.shape()}, {"offset", offset}});
    offset += static_cast<uint64_t>(tensor.numel()) * sizeof(float);
  }
  const std::string header_text = header.dump();
  std::string bytes;
  bytes.reserve(kPrefixBytes + header_text.size() + offset + kCrcBytes);
  append(bytes, kMagic, sizeof(kMagic));
  const uint64_t header_size = header_text.size();
  append(bytes, &header_size, sizeof(header_size));
  bytes += header_text;
  for (const auto& [name, tensor] : checkpoint.tensors) {
    const std::vector<float> values = tensor.to_vector<float>();
    append(bytes, values.data(), values.size() * sizeof(float));
  }
  const uint32_t crc = crc_of(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  append(bytes, &crc, sizeof(crc));
  write_file_atomically(path, bytes);
}

Checkpoint parse_checkpoint(const unsigned char* data, size_t size, const std::string& name) {
  TL_CHECK_AS(ValueError, size >= kPrefixBytes + kCrcBytes && std::memcmp(data, kMagic, sizeof(kMagic)) == 0, "'", name,
              "' is not a topolatent checkpoint (bad magic bytes or too short)");
  uint32_t stored_crc;
  std::memcpy(&stored_crc, data + size - kCrcBytes, kCrcBytes);
  TL_CHECK_AS(ValueError, crc_of(data, size - kCrcBytes) == stored_crc, "checkpoint '", name,
              "' fails its CRC-32 check (corrupt or truncated)");
  uint64_t header_size;
  std::memcpy(&header_size, data + sizeof(kMagic), sizeof(header_size));
  const size_t body = size - kPrefixBytes - kCrcBytes;  // the header and the tensors
  TL_CHECK_AS(ValueError, header_size <= body, "checkpoint '", name, "': header overruns the file");
  const json header = parse_header(data + kPrefixBytes, header_size, name);
  Checkpoint checkpoint;
  checkpoint.meta = header.at("meta");
  checkpoint.tensors = read_tensors(header.at("tensors"), data + kPrefixBytes + header_size, body - header_size, name);
  return checkpoint;
}

Checkpoint read_checkpoint(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  TL_CHECK_AS(ValueError, file.good(), "cannot open checkpoint '", path, "'");
  const std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  TL_CHECK_AS(ValueError, !file.bad(), "cannot read checkpoint '", path, "'");
  return parse_checkpoint(bytes.data(), bytes.size(), path);
}

}  // namespace tl::train
