#pragma once
// "Save snippet to corpus": one snippet appended as a CodeSearchNet-style JSONL record ("id", "language",
// "code", and "func_name", "path", "url", "split" when set) that read_jsonl / load / find read back, so code
// typed in the desktop app's scratchpad joins a batch run (extract, probe, study).
//
// Atomic: the new file (old bytes unchanged + the record) is written beside it and renamed over it, under an
// exclusive lock on PATH.lock, so a reader never sees half a record, a crash leaves the old file, and two
// writers never lose each other's record. An existing last line without its newline gets one first.
#include <string>

#include "data/corpus/snippet.h"

namespace ps::corpus {

// Vets the snippet as read_jsonl would (a supported language or "text", non-empty valid UTF-8 code, no line
// over max_line_bytes) and refuses an id the file already holds. An empty id becomes "scratchpad-<16 hex of the
// code's FNV-1a hash>". Returns the id written. InputError naming the file and the problem.
std::string append_snippet(const std::string& jsonl_path, Snippet snippet, size_t max_line_bytes = 5000);

}  // namespace ps::corpus
