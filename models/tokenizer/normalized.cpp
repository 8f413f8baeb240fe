#include "models/tokenizer/normalized.h"

#include <algorithm>

#include "models/tokenizer/unicode.h"

namespace ps::tok {

std::vector<std::pair<Span, bool>> Pattern::find_matches(const std::string& s) const {
  std::vector<std::pair<Span, bool>> out;
  if (s.empty()) return {{{0, 0}, false}};
  std::vector<Span> hits;
  if (regex) {
    hits = regex->find_all(s);
  } else if (pred) {
    for (size_t i = 0, n; i < s.size(); i += n) {
      if (pred(utf8_decode(s, i, &n))) hits.emplace_back(i, i + n);
    }
  } else if (!literal.empty()) {
    for (size_t i = s.find(literal); i != std::string::npos; i = s.find(literal, i + literal.size()))
      hits.emplace_back(i, i + literal.size());
  }
  size_t prev = 0;
  for (const Span& h : hits) {
    if (h.first == h.second) continue;  // empty matches split nothing
    if (prev != h.first) out.push_back({{prev, h.first}, false});
    out.push_back({h, true});
    prev = h.second;
  }
  if (prev != s.size()) out.push_back({{prev, s.size()}, false});
  if (invert)
    for (auto& m : out) m.second = !m.second;
  return out;
}

NormalizedString::NormalizedString(std::string text, size_t shift) : normalized_(std::move(text)), shift_(shift) {
  align_.resize(normalized_.size());
  for (size_t i = 0, n; i < normalized_.size(); i += n) {
    utf8_decode(normalized_, i, &n);
    for (size_t k = 0; k < n; ++k) align_[i + k] = {shift + i, shift + i + n};
  }
}

Span NormalizedString::to_original(size_t b, size_t e) const {
  if (b == e) return {shift_ + b, shift_ + e};  // HF returns the normalized range itself here
  return {align_[b].first, align_[e - 1].second};
}

void NormalizedString::transform_range(size_t b, size_t e, const std::vector<std::pair<char32_t, int>>& dest,
                                       size_t initial_offset) {
  std::vector<size_t> replaced;  // byte lengths of the chars being replaced, in order
  for (size_t i = b, n; i < e; i += n) {
    utf8_decode(normalized_, i, &n);
    replaced.push_back(n);
  }
  size_t ri = 0, offset = b;
  for (; ri < initial_offset && ri < replaced.size(); ++ri) offset += replaced[ri];
  std::string out;
  std::vector<Span> out_align;
  out.reserve(dest.size());
  out_align.reserve(dest.size());
  for (const auto& [c, change] : dest) {
    Span a;
    if (change > 0) {
      a = offset < 1 ? Span{shift_, shift_} : align_[offset - 1];  // inserted: shares the previous alignment
    } else {
      a = align_[offset];
      if (ri < replaced.size()) offset += replaced[ri++];
      for (int k = 0; k < -change && ri < replaced.size(); ++k) offset += replaced[ri++];
    }
    size_t before = out.size();
    utf8_append(out, c);
    out_align.insert(out_align.end(), out.size() - before, a);
  }
  normalized_.replace(b, e - b, out);
  align_.erase(align_.begin() + b, align_.begin() + e);
  align_.insert(align_.begin() + b, out_align.begin(), out_align.end());
}

void NormalizedString::prepend(const std::string& s) {
  if (normalized_.empty()) return;
  size_t n;
  char32_t first = utf8_decode(normalized_, 0, &n);
  std::vector<std::pair<char32_t, int>> dest;
  for (char32_t c : utf8_chars(s)) dest.push_back({c, dest.empty() ? 0 : 1});
  dest.push_back({first, 1});
  transform_range(0, n, dest, 0);
}

void NormalizedString::append(const std::string& s) {
  if (normalized_.empty()) return;
  size_t start = normalized_.size() - 1;
  while (start > 0 && (static_cast<unsigned char>(normalized_[start]) & 0xC0) == 0x80) --start;
  size_t n;
  char32_t last = utf8_decode(normalized_, start, &n);
  std::vector<std::pair<char32_t, int>> dest{{last, 0}};
  for (char32_t c : utf8_chars(s)) dest.push_back({c, 1});
  transform_range(start, normalized_.size(), dest, 0);
}

void NormalizedString::replace(const Pattern& p, const std::string& content) {
  long shift = 0;  // matches were found on the string before earlier replacements changed its length
  std::vector<char32_t> cs = utf8_chars(content);
  for (const auto& [span, is_match] : p.find_matches(normalized_)) {
    if (!is_match) continue;
    size_t b = size_t(long(span.first) + shift), e = size_t(long(span.second) + shift);
    size_t removed = utf8_chars(normalized_.substr(b, e - b)).size();
    std::vector<std::pair<char32_t, int>> dest;
    for (char32_t c : cs) dest.push_back({c, 1});
    transform_range(b, e, dest, removed);
    shift += long(content.size()) - long(span.second - span.first);
  }
}

void NormalizedString::filter(const std::function<bool(char32_t)>& keep) {
  std::vector<std::pair<char32_t, int>> dest;
  int removed = 0;
  size_t removed_start = 0;
  bool have_last = false;
  char32_t last = 0;
  for (char32_t c : utf8_chars(normalized_)) {
    if (keep(c)) {
      if (have_last) dest.push_back({last, -removed});
      else removed_start = size_t(removed);
      last = c;
      have_last = true;
      removed = 0;
    } else {
      ++removed;
    }
  }
  if (have_last) dest.push_back({last, -removed});
  transform(dest, have_last ? removed_start : size_t(removed));
}

void NormalizedString::map(const std::function<char32_t(char32_t)>& f) {
  std::vector<std::pair<char32_t, int>> dest;
  for (char32_t c : utf8_chars(normalized_)) dest.push_back({f(c), 0});
  transform(dest, 0);
}

void NormalizedString::nfd() {
  std::vector<std::pair<char32_t, int>> dest;
  std::vector<char32_t> d;
  for (char32_t c : utf8_chars(normalized_)) {
    d.clear();
    nfd_char(c, d);
    for (size_t i = 0; i < d.size(); ++i) dest.push_back({d[i], i ? 1 : 0});
  }
  // Canonical ordering: stable sort of each run of non-starters by combining class.
  for (size_t i = 0; i < dest.size();) {
    if (combining_class(dest[i].first) == 0) { ++i; continue; }
    size_t j = i;
    while (j < dest.size() && combining_class(dest[j].first) != 0) ++j;
    std::stable_sort(dest.begin() + i, dest.begin() + j, [](const auto& x, const auto& y) {
      return combining_class(x.first) < combining_class(y.first);
    });
    i = j;
  }
  transform(dest, 0);
}

void NormalizedString::lowercase() {
  std::vector<std::pair<char32_t, int>> dest;
  std::vector<char32_t> l;
  for (char32_t c : utf8_chars(normalized_)) {
    l.clear();
    lowercase_char(c, l);
    for (size_t i = 0; i < l.size(); ++i) dest.push_back({l[i], i ? 1 : 0});
  }
  transform(dest, 0);
}

void NormalizedString::strip(bool left, bool right) {
  std::vector<char32_t> cs = utf8_chars(normalized_);
  size_t lead = 0, trail = 0;
  if (left) while (lead < cs.size() && is_whitespace(cs[lead])) ++lead;
  if (right) while (trail < cs.size() - lead && is_whitespace(cs[cs.size() - 1 - trail])) ++trail;
  if (lead == 0 && trail == 0) return;
  std::vector<std::pair<char32_t, int>> dest;
  for (size_t i = lead; i < cs.size() - trail; ++i)
    dest.push_back({cs[i], i + 1 == cs.size() - trail ? -int(trail) : 0});
  transform(dest, lead);
}

NormalizedString NormalizedString::slice(size_t b, size_t e) const {
  NormalizedString s;
  s.normalized_ = normalized_.substr(b, e - b);
  s.align_.assign(align_.begin() + b, align_.begin() + e);
  s.shift_ = b < e ? align_[b].first : shift_ + b;
  return s;
}

std::vector<NormalizedString> NormalizedString::split(const Pattern& p, SplitBehavior behavior) const {
  auto matches = p.find_matches(normalized_);
  std::vector<std::pair<Span, bool>> splits;  // (span, remove)
  switch (behavior) {
    case SplitBehavior::Isolated:
      for (auto& m : matches) splits.push_back({m.first, false});
      break;
    case SplitBehavior::Removed:
      splits = matches;
      break;
    case SplitBehavior::Contiguous: {
      bool prev_match = false;
      for (auto& [span, is_match] : matches) {
        if (is_match && prev_match && !splits.empty()) splits.back().first.second = span.second;
        else splits.push_back({span, false});
        prev_match = is_match;
      }
      break;
    }
    case SplitBehavior::MergedWithPrevious: {
      bool prev_match = false;
      for (auto& [span, is_match] : matches) {
        if (is_match && !prev_match && !splits.empty()) splits.back().first.second = span.second;
        else splits.push_back({span, false});
        prev_match = is_match;
      }
      break;
    }
    case SplitBehavior::MergedWithNext: {
      bool prev_match = false;
      for (auto it = matches.rbegin(); it != matches.rend(); ++it) {
        if (it->second && !prev_match && !splits.empty()) splits.back().first.first = it->first.first;
        else splits.push_back({it->first, false});
        prev_match = it->second;
      }
      std::reverse(splits.begin(), splits.end());
      break;
    }
  }
  std::vector<NormalizedString> out;
  for (auto& [span, remove] : splits)
    if (!remove) out.push_back(slice(span.first, span.second));
  return out;
}

}  // namespace ps::tok
