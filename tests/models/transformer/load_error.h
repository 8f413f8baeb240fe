#pragma once
// Shared by the transformer suites: what loading a model directory throws.
#include <string>

#include "models/transformer/transformer.h"
#include "models/util/error.h"

namespace ps::test {

// The InputError's message when Transformer::load(dir) refuses the directory, or "<no error>".
inline std::string load_error(const std::string& dir) {
  try {
    models::Transformer::load(dir);
  } catch (const InputError& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace ps::test
