#include "tools/promql_scope.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace opscopilot::tools {

namespace {

bool identStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }
bool identChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool oneOf(const std::string& word, std::initializer_list<std::string_view> words) {
  return std::find(words.begin(), words.end(), word) != words.end();
}

// Keywords that are never metric names where they stand.
bool isKeyword(const std::string& w) {
  return oneOf(w, {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset",
                   "bool", "atan2", "inf", "nan", "smoothed", "anchored"});
}

bool isGrouping(const std::string& w) {
  return oneOf(w, {"by", "without", "on", "ignoring", "group_left", "group_right"});
}

bool isAggregator(const std::string& w) {
  return oneOf(w, {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
                   "quantile", "limitk", "limit_ratio"});
}

class Rewriter {
 public:
  Rewriter(std::string_view q, std::string_view label, std::string_view value)
      : q_(q), matcher_(std::string(label) + "=\"" + std::string(value) + "\"") {}

  ScopedQuery run() {
    while (i_ < q_.size() && error_.empty()) step();
    if (!error_.empty()) return {"", error_};
    return {out_, ""};
  }

 private:
  void step() {
    const char c = q_[i_];
    if (c == '#') {
      while (i_ < q_.size() && q_[i_] != '\n') out_ += q_[i_++];
      return;
    }
    if (c == '"' || c == '\'' || c == '`') {
      copyString();
      return;
    }
    if (c == '{') {
      selectorBraces();
      return;
    }
    if (c == '[') {
      copyBalanced('[', ']');
      return;
    }
    if (c == '(' && groupingNext_) {
      groupingNext_ = false;
      copyBalanced('(', ')');
      return;
    }
    if (identStart(c)) {
      identifier();
      return;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || (c == '.' && i_ + 1 < q_.size() && std::isdigit(static_cast<unsigned char>(q_[i_ + 1])))) {
      number();
      return;
    }
    if (!std::isspace(static_cast<unsigned char>(c))) groupingNext_ = false;
    out_ += c;
    ++i_;
  }

  void copyString() {
    const char quote = q_[i_];
    out_ += q_[i_++];
    while (i_ < q_.size()) {
      const char c = q_[i_];
      out_ += c;
      ++i_;
      if (c == '\\' && quote != '`' && i_ < q_.size()) {
        out_ += q_[i_++];
        continue;
      }
      if (c == quote) return;
    }
    error_ = "the query has an unterminated string";
  }

  // Copies from an opening bracket to its match, strings included.
  void copyBalanced(char open, char close) {
    int depth = 0;
    while (i_ < q_.size()) {
      const char c = q_[i_];
      if (c == '"' || c == '\'' || c == '`') {
        copyString();
        if (!error_.empty()) return;
        continue;
      }
      out_ += c;
      ++i_;
      if (c == open) ++depth;
      if (c == close && --depth == 0) return;
    }
    error_ = std::string("the query has an unclosed '") + open + "'";
  }

  // At '{': a selector's matchers. Ours goes first.
  void selectorBraces() {
    const std::size_t start = out_.size();
    copyBalanced('{', '}');
    if (!error_.empty()) return;
    std::string inner = out_.substr(start + 1, out_.size() - start - 2);
    const bool empty = std::all_of(inner.begin(), inner.end(), [](unsigned char ch) { return std::isspace(ch); });
    out_.resize(start);
    out_ += "{" + matcher_ + (empty ? "" : "," + inner) + "}";
    groupingNext_ = false;
  }

  std::size_t nextSignificant(std::size_t j) const {
    while (j < q_.size()) {
      if (std::isspace(static_cast<unsigned char>(q_[j]))) {
        ++j;
      } else if (q_[j] == '#') {
        while (j < q_.size() && q_[j] != '\n') ++j;
      } else {
        break;
      }
    }
    return j;
  }

  void identifier() {
    std::size_t j = i_;
    while (j < q_.size() && identChar(q_[j])) ++j;
    const std::string word(q_.substr(i_, j - i_));
    const std::string w = lower(word);
    out_ += word;
    i_ = j;
    if (isKeyword(w)) {
      groupingNext_ = isGrouping(w);
      return;
    }
    groupingNext_ = false;
    const std::size_t k = nextSignificant(j);
    const char next = k < q_.size() ? q_[k] : '\0';
    if (next == '(') {
      // A function or aggregation. info() selects series of its own choosing
      // (target_info), which no matcher here would confine.
      if (w == "info") error_ = "info() cannot be confined to a namespace";
      return;
    }
    if (isAggregator(w) && identStart(next)) {
      std::size_t e = k;
      while (e < q_.size() && identChar(q_[e])) ++e;
      if (isGrouping(lower(q_.substr(k, e - k)))) return;  // sum by (x) (...)
    }
    // A metric name: its matchers, or ours alone.
    if (next == '{') {
      out_ += q_.substr(i_, k - i_);
      i_ = k;
      selectorBraces();
    } else {
      out_ += "{" + matcher_ + "}";
    }
  }

  void number() {
    std::size_t j = i_;
    while (j < q_.size()) {
      const char c = q_[j];
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_') {
        ++j;
      } else if ((c == '+' || c == '-') && j > i_ && (q_[j - 1] == 'e' || q_[j - 1] == 'E') &&
                 !(q_.size() > i_ + 1 && q_[i_] == '0' && (q_[i_ + 1] == 'x' || q_[i_ + 1] == 'X'))) {
        ++j;
      } else {
        break;
      }
    }
    out_ += q_.substr(i_, j - i_);
    i_ = j;
    groupingNext_ = false;
  }

  std::string_view q_;
  std::string matcher_;
  std::string out_;
  std::string error_;
  std::size_t i_ = 0;
  bool groupingNext_ = false;
};

bool hasMatcher(const rapidjson::Value& node, std::string_view label, std::string_view value) {
  auto m = node.FindMember("matchers");
  if (m == node.MemberEnd() || !m->value.IsArray()) return false;
  for (const auto& x : m->value.GetArray()) {
    if (!x.IsObject()) continue;
    auto name = x.FindMember("name"), type = x.FindMember("type"), val = x.FindMember("value");
    if (name == x.MemberEnd() || type == x.MemberEnd() || val == x.MemberEnd()) continue;
    if (!name->value.IsString() || !type->value.IsString() || !val->value.IsString()) continue;
    if (std::string_view(name->value.GetString(), name->value.GetStringLength()) == label &&
        std::string_view(type->value.GetString()) == "=" &&
        std::string_view(val->value.GetString(), val->value.GetStringLength()) == value) {
      return true;
    }
  }
  return false;
}

}  // namespace

ScopedQuery scopeQuery(std::string_view query, std::string_view label, std::string_view value) {
  if (label.empty() || value.empty() || value.find_first_of("\"\\\n") != std::string_view::npos ||
      !std::all_of(label.begin(), label.end(), identChar)) {
    return {"", "the scope label or value is not usable"};
  }
  return Rewriter(query, label, value).run();
}

std::optional<std::string> unscopedSelector(const rapidjson::Value& ast, std::string_view label, std::string_view value) {
  if (ast.IsArray()) {
    for (const auto& x : ast.GetArray()) {
      if (auto bad = unscopedSelector(x, label, value)) return bad;
    }
    return std::nullopt;
  }
  if (!ast.IsObject()) return std::nullopt;
  auto type = ast.FindMember("type");
  if (type != ast.MemberEnd() && type->value.IsString()) {
    const std::string_view t = type->value.GetString();
    if ((t == "vectorSelector" || t == "matrixSelector") && !hasMatcher(ast, label, value)) {
      auto name = ast.FindMember("name");
      std::string what = name != ast.MemberEnd() && name->value.IsString() && name->value.GetStringLength() > 0
                             ? std::string(name->value.GetString())
                             : std::string("a selector");
      return what + " is not confined to " + std::string(label) + "=\"" + std::string(value) + "\"";
    }
  }
  for (auto it = ast.MemberBegin(); it != ast.MemberEnd(); ++it) {
    if (auto bad = unscopedSelector(it->value, label, value)) return bad;
  }
  return std::nullopt;
}

}  // namespace opscopilot::tools
