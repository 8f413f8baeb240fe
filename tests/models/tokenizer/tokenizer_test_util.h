#pragma once
// Shared by the tokenizer suites: what loading a tokenizer.json text throws.
#include <string>

#include "models/tokenizer/tokenizer.h"
#include "models/util/error.h"

namespace ps::tok::testing {

// The InputError's message when json_text (named "tok.json") is refused, or "<no error>".
inline std::string error_of(const std::string& json_text) {
  try {
    Tokenizer::from_json(json_text, "tok.json");
  } catch (const ps::InputError& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace ps::tok::testing
