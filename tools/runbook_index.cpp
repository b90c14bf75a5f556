#include "tools/runbook_index.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

namespace opscopilot::tools {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// The heading level of an ATX heading line ("## Title"), 0 when not one.
int headingLevel(std::string_view line, std::string_view* title) {
  std::size_t indent = 0;
  while (indent < line.size() && indent < 3 && line[indent] == ' ') ++indent;
  line.remove_prefix(indent);
  std::size_t n = 0;
  while (n < line.size() && line[n] == '#') ++n;
  if (n == 0 || n > 6 || (n < line.size() && line[n] != ' ' && line[n] != '\t')) return 0;
  auto t = trim(line.substr(n));
  while (!t.empty() && t.back() == '#') t.remove_suffix(1);  // closing sequence
  *title = trim(t);
  return static_cast<int>(n);
}

bool isFence(std::string_view line) {
  auto t = trim(line);
  return t.starts_with("```") || t.starts_with("~~~");
}

// A list item's text ("1. do x", "- do x", "* [ ] do x"), "" when the line
// is not one.
std::string_view listItem(std::string_view line) {
  auto t = trim(line);
  std::size_t i = 0;
  while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
  if (i > 0 && i < t.size() && (t[i] == '.' || t[i] == ')') && i + 1 < t.size() && t[i + 1] == ' ') {
    return trim(t.substr(i + 2));
  }
  if (t.size() > 2 && (t[0] == '-' || t[0] == '*' || t[0] == '+') && t[1] == ' ') {
    auto item = trim(t.substr(2));
    for (std::string_view box : {"[ ] ", "[x] ", "[X] "}) {
      if (item.starts_with(box)) item.remove_prefix(box.size());
    }
    return item;
  }
  return {};
}

bool isStopWord(std::string_view w) {
  static const std::set<std::string_view> kStop = {
      "a",    "an",   "and",  "are",   "as",    "at",   "be",   "but",  "by",    "can",  "do",    "does",
      "for",  "from", "has",  "have",  "how",   "i",    "if",   "in",   "into",  "is",   "it",    "its",
      "keep", "me",   "my",   "no",    "not",   "of",   "on",   "or",   "our",   "so",   "than",  "that",
      "the",  "then", "them", "there", "these", "they", "this", "to",   "was",   "we",   "were",  "what",
      "when", "where","which","while", "who",   "why",  "will", "with", "would", "you",  "your",  "keeps"};
  return kStop.contains(w);
}

std::string fold(std::string w) {
  auto ends = [&](std::string_view s) { return w.size() > s.size() && std::string_view(w).ends_with(s); };
  if (w.size() > 5 && ends("ing")) {
    w.resize(w.size() - 3);
  } else if (w.size() > 4 && ends("ied")) {
    w.resize(w.size() - 3);
    w += 'y';
  } else if (w.size() > 4 && ends("ed") && !ends("eed")) {
    w.resize(w.size() - 2);
  } else if (w.size() > 4 && ends("ies")) {
    w.resize(w.size() - 3);
    w += 'y';
  } else if (w.size() > 4 && (ends("sses") || ends("xes") || ends("ches") || ends("shes"))) {
    w.resize(w.size() - 2);
  } else if (w.size() > 3 && ends("s") && !ends("ss") && !ends("us") && !ends("is")) {
    w.resize(w.size() - 1);
  }
  return w;
}

}  // namespace

std::vector<RunbookSection> splitRunbook(std::string_view markdown) {
  std::vector<RunbookSection> sections(1);
  std::vector<std::string> path;  // heading titles by level (1-based index - 1)
  bool inFence = false;
  while (!markdown.empty()) {
    auto nl = markdown.find('\n');
    std::string_view line = markdown.substr(0, nl);
    markdown = nl == std::string_view::npos ? std::string_view{} : markdown.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (isFence(line)) {
      inFence = !inFence;
      sections.back().text.append(line).push_back('\n');
      continue;
    }
    std::string_view title;
    if (int level = inFence ? 0 : headingLevel(line, &title); level > 0) {
      path.resize(static_cast<std::size_t>(level));
      path.back() = std::string(title);
      RunbookSection s;
      for (const auto& p : path) {
        if (p.empty()) continue;
        if (!s.heading.empty()) s.heading += " > ";
        s.heading += p;
      }
      sections.push_back(std::move(s));
      continue;
    }
    auto& s = sections.back();
    s.text.append(line).push_back('\n');
    if (inFence) {
      if (auto cmd = trim(line); !cmd.empty() && !cmd.starts_with("#")) s.steps.emplace_back(cmd);
    } else if (auto item = listItem(line); !item.empty()) {
      s.steps.emplace_back(item);
    }
  }
  std::vector<RunbookSection> out;
  for (auto& s : sections) {
    auto body = trim(s.text);
    if (body.empty()) continue;
    s.text = std::string(body);
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::string> indexTerms(std::string_view text) {
  std::vector<std::string> terms;
  std::string word;
  auto flush = [&] {
    if (word.size() >= 2 && !isStopWord(word)) terms.push_back(fold(std::move(word)));
    word.clear();
  };
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      word.push_back(static_cast<char>(std::tolower(u)));
    } else {
      flush();
    }
  }
  flush();
  return terms;
}

Bm25Index::Bm25Index(std::vector<std::vector<std::string>> docs, double k1, double b)
    : docs_(std::move(docs)), k1_(k1), b_(b) {
  std::set<std::string> vocab;
  std::size_t total = 0;
  for (const auto& d : docs_) {
    vocab.insert(d.begin(), d.end());
    total += d.size();
  }
  vocabulary_.assign(vocab.begin(), vocab.end());
  docFreq_.assign(vocabulary_.size(), 0);
  for (const auto& d : docs_) {
    std::set<std::string_view> seen(d.begin(), d.end());
    for (auto t : seen) {
      auto it = std::lower_bound(vocabulary_.begin(), vocabulary_.end(), t);
      ++docFreq_[static_cast<std::size_t>(it - vocabulary_.begin())];
    }
  }
  avgLength_ = docs_.empty() ? 0 : static_cast<double>(total) / static_cast<double>(docs_.size());
}

std::vector<Bm25Index::Hit> Bm25Index::search(const std::vector<std::string>& query, std::size_t limit,
                                              std::size_t minMatched) const {
  std::set<std::string> unique(query.begin(), query.end());
  const double n = static_cast<double>(docs_.size());
  std::vector<std::pair<const std::string*, double>> weighted;  // term, idf
  for (const auto& t : unique) {
    auto it = std::lower_bound(vocabulary_.begin(), vocabulary_.end(), t);
    if (it == vocabulary_.end() || *it != t) continue;
    double df = static_cast<double>(docFreq_[static_cast<std::size_t>(it - vocabulary_.begin())]);
    weighted.emplace_back(&t, std::log(1.0 + (n - df + 0.5) / (df + 0.5)));
  }
  const std::size_t need = std::min(minMatched, unique.size());
  std::vector<Hit> hits;
  for (std::size_t i = 0; i < docs_.size(); ++i) {
    const auto& d = docs_[i];
    Hit h{i, 0, 0};
    const double norm = k1_ * (1 - b_ + b_ * (avgLength_ > 0 ? static_cast<double>(d.size()) / avgLength_ : 1));
    for (const auto& [term, idf] : weighted) {
      auto tf = static_cast<double>(std::count(d.begin(), d.end(), *term));
      if (tf == 0) continue;
      ++h.matchedTerms;
      h.score += idf * tf * (k1_ + 1) / (tf + norm);
    }
    if (h.matchedTerms > 0 && h.matchedTerms >= need) hits.push_back(h);
  }
  std::stable_sort(hits.begin(), hits.end(), [](const Hit& x, const Hit& y) { return x.score > y.score; });
  if (hits.size() > limit) hits.resize(limit);
  return hits;
}

}  // namespace opscopilot::tools
