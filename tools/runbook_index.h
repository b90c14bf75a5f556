// Runbooks: markdown split into sections at its headings, and an Okapi BM25
// index over them, so the sections that fit a run's question and findings can
// be found without a model. Pure functions, no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace opscopilot::tools {

struct RunbookSection {
  std::string heading;  // "Checkout > Crash loops > DATABASE_URL missing"; "" before the first heading
  std::string text;     // the section's own markdown, without its heading line
  // The section's steps: its list items (numbered or bulleted) and fenced
  // command lines, in order, as written (markers dropped).
  std::vector<std::string> steps;
};

// Splits markdown at ATX headings (# to ######; not inside fenced code).
// Each section's heading is the path of headings above it and its own. Empty
// sections (a heading directly followed by another) are dropped.
std::vector<RunbookSection> splitRunbook(std::string_view markdown);

// Index terms of text: lowercased runs of letters and digits (so
// "CrashLoopBackOff" and "crashloopbackoff" are one term, "crash-loops" two),
// English stop words dropped, plural and -ing/-ed endings folded ("loops",
// "looping", "looped" -> "loop").
std::vector<std::string> indexTerms(std::string_view text);

class Bm25Index {
 public:
  // docs: each document's terms (from indexTerms).
  explicit Bm25Index(std::vector<std::vector<std::string>> docs, double k1 = 1.2, double b = 0.75);

  struct Hit {
    std::size_t doc = 0;
    double score = 0;
    std::size_t matchedTerms = 0;  // distinct query terms the document has
  };
  // The best documents for the query, highest score first (ties: lower
  // index first). A document must contain at least minMatched distinct query
  // terms (or all of them, when the query has fewer).
  std::vector<Hit> search(const std::vector<std::string>& query, std::size_t limit, std::size_t minMatched = 2) const;

 private:
  std::vector<std::vector<std::string>> docs_;
  std::vector<std::string> vocabulary_;  // sorted
  std::vector<std::size_t> docFreq_;     // per vocabulary term
  double avgLength_ = 0;
  double k1_, b_;
};

}  // namespace opscopilot::tools
