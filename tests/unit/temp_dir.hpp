#pragma once
/// Test helpers for files: a fresh folder removed with its contents, and a folder of texts in the
/// text-folder dataset's layout.

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

/// A fresh folder under the system's temporary folder, removed with its contents.
class TempDir {
public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("hpcnas-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string str() const { return path_.string(); }
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

/// DIR/<class>/*.txt, as `--dataset text-folder` reads it.
class TextFolder : public TempDir {
public:
  void write(const std::string& cls, int i, const std::string& text) const {
    std::filesystem::create_directories(path() / cls);
    std::ofstream(path() / cls / (std::to_string(i) + ".txt")) << text;
  }
  /// Two classes (weather, sport) of 40 texts of 8 words each, drawn from 6 words of their own
  /// and 6 shared ones: a task a text classifier learns in a few epochs.
  void write_two_topics() const {
    const char* own[2][6] = {{"rain", "cloud", "wind", "storm", "snow", "fog"},
                             {"goal", "match", "team", "score", "coach", "league"}};
    const char* shared[6] = {"the", "a", "today", "again", "very", "news"};
    for (int i = 0; i < 40; ++i) {
      for (int cls = 0; cls < 2; ++cls) {
        std::string text;
        for (int w = 0; w < 8; ++w)
          text += std::string(w % 2 == 0 ? own[cls][(i + w) % 6] : shared[(i * 5 + w) % 6]) + " ";
        write(cls == 0 ? "weather" : "sport", i, text);
      }
    }
  }
};
