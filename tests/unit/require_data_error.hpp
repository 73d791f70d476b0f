#pragma once
/// Asserts that a call throws a DataError whose message holds every one of the given parts.

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "hpcnas/data/data_error.hpp"

template <class F> void require_data_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    FAIL("no DataError thrown");
  } catch (const hpcnas::data::DataError& e) {
    const std::string message = e.what();
    INFO(message);
    for (const auto& part : parts) {
      CHECK(message.find(part) != std::string::npos);
    }
  }
}
