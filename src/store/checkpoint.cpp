#include "hpcnas/store/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <utility>

#include "hdf5_handle.hpp"
#include "hpcnas/space/byte_stream.hpp"
#include "hpcnas/space/hash.hpp"

namespace hpcnas::store {
namespace {

using hdf5::check;

using space::fnv1a;

std::string hex(std::uint64_t hash) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

constexpr const char* kPayload = "payload";
constexpr const char* kSearch = "search";

// A checkpoint file starts with a 512-byte HDF5 user block that HDF5 leaves alone, holding a
// seal: kSealMagic, then the FNV-1a checksum and the length of the rest of the file. The seal
// is checked before HDF5 reads a byte: HDF5 1.10 can loop forever on a damaged file (found by
// fuzzing: a corrupt global heap under a string attribute), so no damaged file may reach it.
constexpr hsize_t kSealBytes = 512;
constexpr const char kSealMagic[] = "hpcnas checkpoint seal 1\n";

std::string seal_text(const std::string& checksum, std::uintmax_t length) {
  return kSealMagic + checksum + " " + std::to_string(length) + "\n";
}

/// FNV-1a over the bytes of `path` after the seal, and their count.
std::pair<std::string, std::uintmax_t> checksum_after_seal(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw StoreError("checkpoint '" + path + "': cannot open it");
  in.seekg(static_cast<std::streamoff>(kSealBytes));
  std::uint64_t hash = space::kFnvOffset;
  std::uintmax_t length = 0;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    hash = fnv1a({buffer.data(), got}, hash);
    length += got;
  }
  return {hex(hash), length};
}

/// Writes the seal of a closed checkpoint file into its user block.
void seal(const std::string& path) {
  const auto [checksum, length] = checksum_after_seal(path);
  const std::string text = seal_text(checksum, length);
  std::fstream out(path, std::ios::in | std::ios::out | std::ios::binary);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.flush();
  if (!out)
    throw StoreError("checkpoint '" + path + "': cannot write its seal");
}

/// Throws StoreError unless `path` carries a seal that matches the rest of the file.
void check_seal(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw StoreError("checkpoint '" + path + "': cannot open it");
  std::string head(kSealBytes, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  const std::string magic = kSealMagic;
  if (in.gcount() < static_cast<std::streamsize>(magic.size()) ||
      head.compare(0, magic.size(), magic) != 0)
    throw StoreError("checkpoint '" + path +
                     "' has no seal: damaged, or an unsealed checkpoint of an older hpcnas "
                     "(schema 1)");
  const auto [checksum, length] = checksum_after_seal(path);
  if (head.compare(0, head.find('\n', magic.size()) + 1, seal_text(checksum, length)) != 0)
    throw StoreError("checkpoint '" + path + "' fails its checksum (damaged or cut short)");
}

/// What a checkpoint file holds besides its schema version and checksum.
struct Envelope {
  std::string kind;
  std::vector<std::pair<std::string, std::string>> progress; ///< readable attributes of `/`
  std::vector<char> payload;
};

std::vector<char> pack(const Checkpoint& c) {
  space::ByteWriter w;
  w.put_string(c.config_hash);
  w.put(c.dispatch.next_id);
  w.put(c.dispatch.recorded);
  w.put(static_cast<std::uint64_t>(c.dispatch.outstanding.size()));
  for (const auto& [id, entry] : c.dispatch.outstanding) {
    w.put(id);
    w.put_architecture(entry.genotype);
  }
  w.put(static_cast<std::uint64_t>(c.dispatch.owed.size()));
  for (std::int64_t id : c.dispatch.owed)
    w.put(id);
  w.put_bytes(c.dispatch.strategy_state);
  // Sections added later, each after everything older hpcnas versions wrote and read: the
  // prefilter's scores, then the fidelity of each evaluation out and the scheduler's state.
  for (const auto& entry : c.dispatch.outstanding)
    w.put(entry.second.proxy_score);
  for (const auto& entry : c.dispatch.outstanding) {
    w.put(entry.second.epochs);
    w.put(entry.second.from_epochs);
    w.put(entry.second.continues);
  }
  w.put_string(c.dispatch.scheduler_state);
  return w.take();
}

Checkpoint unpack_search(const std::vector<char>& bytes, const std::string& path) {
  space::ByteReader r(bytes, "checkpoint '" + path + "'");
  Checkpoint c;
  c.config_hash = r.get_string();
  c.dispatch.next_id = r.get<std::int64_t>();
  c.dispatch.recorded = r.get<std::int64_t>();
  const auto outstanding = r.get<std::uint64_t>();
  for (std::uint64_t i = 0; i < outstanding; ++i) {
    const auto id = r.get<std::int64_t>();
    c.dispatch.outstanding[id].genotype = r.get_architecture();
  }
  const auto owed = r.get<std::uint64_t>();
  for (std::uint64_t i = 0; i < owed; ++i)
    c.dispatch.owed.push_back(r.get<std::int64_t>());
  c.dispatch.strategy_state = r.get_bytes();
  if (!r.at_end()) // a checkpoint written before the prefilter has no proxy scores: NaN
    for (auto& entry : c.dispatch.outstanding)
      entry.second.proxy_score = r.get<double>();
  if (!r.at_end()) { // nor one written before the scheduler a fidelity
    for (auto& entry : c.dispatch.outstanding) {
      entry.second.epochs = r.get<int>();
      entry.second.from_epochs = r.get<int>();
      entry.second.continues = r.get<std::int64_t>();
    }
    c.dispatch.scheduler_state = r.get_string();
  }
  if (!r.at_end())
    throw StoreError("checkpoint '" + path + "': trailing bytes in the payload");
  return c;
}

std::vector<char> pack(const EpochCheckpoint& c) {
  space::ByteWriter w;
  w.put_string(c.config_hash);
  w.put(c.epoch);
  w.put(c.step);
  w.put_bytes(c.state);
  return w.take();
}

EpochCheckpoint unpack_epoch(const std::vector<char>& bytes, const std::string& path) {
  space::ByteReader r(bytes, "checkpoint '" + path + "'");
  EpochCheckpoint c;
  c.config_hash = r.get_string();
  c.epoch = r.get<std::int64_t>();
  c.step = r.get<std::int64_t>();
  c.state = r.get_bytes();
  if (!r.at_end())
    throw StoreError("checkpoint '" + path + "': trailing bytes in the payload");
  return c;
}

/// fsync of a file or folder, so a rename after it never exposes a half-written file.
void sync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0)
    throw StoreError("checkpoint: cannot open '" + path + "' to sync it");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0)
    throw StoreError("checkpoint: fsync of '" + path + "' failed");
}

void write_file(const std::string& path, const Envelope& envelope) {
  const auto& payload = envelope.payload;
  hdf5::silence_errors();
  const hdf5::PropertyList create(check(H5Pcreate(H5P_FILE_CREATE), "H5Pcreate", path, "/"));
  check(H5Pset_userblock(create.get(), kSealBytes), "H5Pset_userblock", path, "/");
  hdf5::File file(check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, create.get(), H5P_DEFAULT),
                        "H5Fcreate", path, "/"));
  {
    const hsize_t size = payload.size();
    hdf5::Dataspace space(
        check(H5Screate_simple(1, &size, nullptr), "H5Screate_simple", path, kPayload));
    hdf5::Dataset data(check(H5Dcreate2(file.get(), kPayload, H5T_STD_U8LE, space.get(),
                                        H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                             "H5Dcreate2", path, kPayload));
    if (size > 0)
      check(H5Dwrite(data.get(), H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, payload.data()),
            "H5Dwrite", path, kPayload);
  }
  hdf5::write_int_attribute(file.get(), "schema_version", kCheckpointSchemaVersion, path);
  hdf5::write_string_attribute(file.get(), "checksum",
                               fnv1a_hex(std::string(payload.begin(), payload.end())), path);
  hdf5::write_string_attribute(file.get(), "kind", envelope.kind, path);
  for (const auto& [name, value] : envelope.progress)
    hdf5::write_string_attribute(file.get(), name.c_str(), value, path);
  // HDF5 writes most of the file when it closes: a close that fails (a full disk) must not
  // let this file replace a good checkpoint.
  check(file.close(), "H5Fclose", path, "/");
  seal(path);
}

/// The payload of a checkpoint file of `kind`, after its schema version and checksum passed.
std::vector<char> read_payload(const std::string& path, const std::string& kind) {
  check_seal(path);
  hdf5::silence_errors();
  hdf5::File file(check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen", path, "/"));
  const int version = hdf5::read_int_attribute(file.get(), "schema_version", path);
  if (version != kCheckpointSchemaVersion)
    throw StoreError("checkpoint '" + path + "' has schema version " + std::to_string(version) +
                     ", this hpcnas reads " + std::to_string(kCheckpointSchemaVersion));
  // Checkpoints written before the darts kind existed carry no kind: they are a search's.
  const std::string found = H5Aexists(file.get(), "kind") > 0
                                ? hdf5::read_string_attribute(file.get(), "kind", path)
                                : std::string(kSearch);
  if (found != kind)
    throw StoreError("checkpoint '" + path + "' is of a " + found + " run, not of a " + kind +
                     " run");
  hdf5::Dataset data(
      check(H5Dopen2(file.get(), kPayload, H5P_DEFAULT), "H5Dopen2", path, kPayload));
  hdf5::Dataspace space(check(H5Dget_space(data.get()), "H5Dget_space", path, kPayload));
  hsize_t size = 0;
  check(H5Sget_simple_extent_dims(space.get(), &size, nullptr), "H5Sget_simple_extent_dims", path,
        kPayload);
  std::vector<char> payload(size);
  if (size > 0)
    check(H5Dread(data.get(), H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, payload.data()),
          "H5Dread", path, kPayload);
  const std::string expected = hdf5::read_string_attribute(file.get(), "checksum", path);
  if (fnv1a_hex(std::string(payload.begin(), payload.end())) != expected)
    throw StoreError("checkpoint '" + path + "' fails its checksum");
  return payload;
}

void write_atomically(const std::string& run_file, const Envelope& envelope) {
  const std::string current = checkpoint_path(run_file);
  const std::string previous = previous_checkpoint_path(run_file);
  const std::string temporary = current + ".tmp";
  try {
    write_file(temporary, envelope);
    sync_path(temporary);
  } catch (...) {
    std::error_code ignored; // the space it took is given back; the checkpoints stay as they were
    std::filesystem::remove(temporary, ignored);
    throw;
  }
  std::error_code ec;
  if (std::filesystem::exists(current, ec))
    std::filesystem::rename(current, previous);
  std::filesystem::rename(temporary, current);
  const auto folder = std::filesystem::absolute(current).parent_path().string();
  sync_path(folder);
}

/// The newest valid checkpoint of `kind`, unpacked by `unpack(payload, path)`, else the previous.
template <typename T, typename Unpack>
std::optional<Loaded<T>> load_newest(const std::string& run_file, const std::string& kind,
                                     Unpack unpack) {
  const std::string current = checkpoint_path(run_file);
  const std::string previous = previous_checkpoint_path(run_file);
  std::error_code ec;
  const bool has_current = std::filesystem::exists(current, ec);
  const bool has_previous = std::filesystem::exists(previous, ec);
  if (!has_current && !has_previous)
    return std::nullopt;
  const auto read = [&](const std::string& path) {
    try {
      return Loaded<T>{unpack(read_payload(path, kind), path), path, ""};
    } catch (const std::runtime_error& e) { // StoreError, or a short payload
      throw StoreError(e.what());
    }
  };
  std::string problem;
  if (has_current) {
    try {
      return read(current);
    } catch (const StoreError& e) {
      problem = e.what();
    }
  } else {
    problem = "checkpoint '" + current + "' is missing";
  }
  if (has_previous) {
    try {
      auto loaded = read(previous);
      loaded.fallback = problem;
      return loaded;
    } catch (const StoreError& e) {
      problem += "; " + std::string(e.what());
    }
  }
  throw StoreError("no valid checkpoint: " + problem);
}

} // namespace

std::string fnv1a_hex(const std::string& data) { return hex(fnv1a(data)); }

void write_checkpoint_file(const std::string& path, const std::string& kind,
                           const std::vector<char>& payload) {
  write_file(path, {kind, {}, payload});
}

std::string checkpoint_path(const std::string& run_file) { return run_file + ".ckpt"; }

void remove_checkpoints(const std::string& run_file) {
  std::error_code ec;
  std::filesystem::remove(checkpoint_path(run_file), ec);
  std::filesystem::remove(previous_checkpoint_path(run_file), ec);
}

std::string previous_checkpoint_path(const std::string& run_file) {
  return run_file + ".ckpt.prev";
}

void write_checkpoint(const std::string& run_file, const Checkpoint& checkpoint) {
  write_atomically(run_file, {kSearch,
                              {{"next_id", std::to_string(checkpoint.dispatch.next_id)},
                               {"recorded", std::to_string(checkpoint.dispatch.recorded)}},
                              pack(checkpoint)});
}

void write_checkpoint(const std::string& run_file, const std::string& kind,
                      const EpochCheckpoint& checkpoint) {
  write_atomically(run_file, {kind,
                              {{"epoch", std::to_string(checkpoint.epoch)},
                               {"step", std::to_string(checkpoint.step)}},
                              pack(checkpoint)});
}

std::optional<LoadedCheckpoint> load_checkpoint(const std::string& run_file) {
  return load_newest<Checkpoint>(run_file, kSearch, unpack_search);
}

std::optional<Loaded<EpochCheckpoint>> load_epoch_checkpoint(const std::string& run_file,
                                                             const std::string& kind) {
  return load_newest<EpochCheckpoint>(run_file, kind, unpack_epoch);
}

} // namespace hpcnas::store
