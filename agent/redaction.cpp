#include "agent/redaction.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

// How this works
//
// Every detector runs over the original text and reports the byte spans that
// are secret (only the secret: the key name, the URL scheme and host, the PEM
// armour lines stay). The spans are merged and each merged span becomes one
// "[REDACTED]", so the count is the number of markers in the output and an
// already redacted text is left as it is.
//
// The regular expressions are RE2 (linear time in the input, no recursion, no
// backtracking), compiled once, in Latin-1 mode so that every byte is a
// character: UTF-8 passwords are taken whole and invalid UTF-8 cannot stop a
// match. Detectors that must decide something RE2 cannot say (is this key
// name secret-like? is this value a placeholder or a word of prose?) match
// the cheap part with RE2 and decide in C++, always moving forward, so a
// megabyte of near-matches costs one pass per detector.

namespace opscopilot::agent {

namespace {

using re2::RE2;
using re2::StringPiece;

struct Span {
  std::size_t begin;
  std::size_t end;
};

std::unique_ptr<RE2> compile(const std::string& pattern) {
  RE2::Options o;
  o.set_encoding(RE2::Options::EncodingLatin1);
  o.set_log_errors(false);
  o.set_max_mem(32 << 20);
  auto re = std::make_unique<RE2>(pattern, o);
  if (!re->ok()) throw std::logic_error("redaction: bad pattern " + pattern + ": " + re->error());
  return re;
}

int groupIndex(const RE2& re, const char* name) {
  const auto& groups = re.NamedCapturingGroups();
  auto it = groups.find(name);
  return it == groups.end() ? 0 : it->second;
}

// Calls onMatch(groups) for each match, left to right; onMatch returns where
// the next search starts (at least one past the start of this match).
template <class F>
void forEachMatch(const RE2& re, std::string_view text, F&& onMatch) {
  const int n = re.NumberOfCapturingGroups() + 1;
  std::vector<StringPiece> g(static_cast<std::size_t>(n));
  const StringPiece all(text.data(), text.size());
  std::size_t pos = 0;
  while (pos <= text.size() && re.Match(all, pos, text.size(), RE2::UNANCHORED, g.data(), n)) {
    const auto start = static_cast<std::size_t>(g[0].data() - text.data());
    const std::size_t next = onMatch(g);
    pos = std::max(next, start + 1);
  }
}

Span spanOf(std::string_view text, const StringPiece& g) {
  const auto b = static_cast<std::size_t>(g.data() - text.data());
  return {b, b + g.size()};
}

// ---------------------------------------------------------------------------
// Words and values

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }
bool isAlpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool isLowerC(char c) { return c >= 'a' && c <= 'z'; }
bool isHex(char c) { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

std::string toLower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

template <std::size_t N>
bool oneOf(std::string_view s, const std::array<std::string_view, N>& words) {
  return std::find(words.begin(), words.end(), s) != words.end();
}

// "DB_PASSWORD" -> db, password; "SecretAccessKey" -> secret, access, key;
// "APIKey" -> api, key; "x-api-key" -> x, api, key.
std::vector<std::string> nameParts(std::string_view name) {
  std::vector<std::string> parts;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) parts.push_back(toLower(cur));
    cur.clear();
  };
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!isAlpha(c) && !isDigit(c)) {
      flush();
      continue;
    }
    if (isUpper(c) && !cur.empty()) {
      const char prev = name[i - 1];
      const bool nextLower = i + 1 < name.size() && isLowerC(name[i + 1]);
      if (isLowerC(prev) || isDigit(prev) || (isUpper(prev) && nextLower)) flush();
    }
    cur += c;
  }
  flush();
  return parts;
}

constexpr std::array<std::string_view, 14> kSecretWords = {
    "password", "passwd",     "passphrase",  "pass",     "pw",        "pwd",     "secret",
    "token",    "apikey",     "credential",  "credentials", "passwort", "signature", "passcode"};

// Joined lower-case names that end in "key" and are secret (apikey, accountkey).
constexpr std::array<std::string_view, 22> kSecretJoinedKeys = {
    "apikey",    "accesskey",    "secretkey",    "privatekey", "accountkey", "signingkey",
    "encryptionkey", "masterkey", "licensekey",  "subscriptionkey", "sharedkey", "hmackey",
    "clientkey", "authkey",      "appkey",       "servicekey", "storagekey", "webhookkey",
    "jwtkey",    "cryptokey",    "sharedaccesskey", "primarykey"};

// Words before "key" that make it a lookup key, not a secret (ROUTING_KEY).
// Kubernetes controllers log their work-queue keys (pod_key=shop/web-1).
constexpr std::array<std::string_view, 54> kPlainKeyPrefixes = {
    "routing", "sort",   "partition", "cache",     "foreign",  "object",    "idempotency", "dedup",
    "dedupe",  "lookup", "row",       "hash",      "shard",    "group",     "label",       "map",
    "index",   "search", "unique",    "composite", "natural",  "join",      "message",     "record",
    "public",  "pub",    "s3",        "bucket",    "file",     "config",    "translation", "i18n",
    "item",    "entity", "cursor",    "sequence",  "selector", "match",     "node",        "resource",
    "pod",     "namespace", "ns",     "queue",     "work",     "obj",       "cluster",     "job",
    "event",   "trace",  "lock",      "lease",     "topology", "taint"};

bool partIsSecretWord(std::string_view p) {
  if (oneOf(p, kSecretWords) || oneOf(p, kSecretJoinedKeys)) return true;
  // Joined: dbpassword, clientsecret, accesstoken.
  for (std::string_view w : {"password", "passwd", "secret", "token"})
    if (p.size() > w.size() && endsWith(p, w)) return true;
  return false;
}

// Is a key of this name holding a secret? password, DB_PASSWORD, dbPassword,
// client_secret, x-api-key, AccountKey, aws_secret_access_key, auth (docker's
// config.json, .npmrc's _auth). Not: key, secretKeyRef, password_file,
// token_type, PUBLIC_KEY, routing_key, max_tokens, private_key_id.
bool isSecretKeyName(std::string_view name) {
  const auto parts = nameParts(name);
  if (parts.empty()) return false;
  const std::string& last = parts.back();
  if (parts.size() == 1 && last == "primarykey") return false;
  // existingSecret: the name of a Secret object (Helm charts).
  if (parts.size() > 1 && parts[parts.size() - 2] == "existing") return false;
  if (partIsSecretWord(last)) return true;
  if (last == "key") {
    if (parts.size() == 1) return false;
    return !oneOf(std::string_view(parts[parts.size() - 2]), kPlainKeyPrefixes);
  }
  if (last == "auth") return parts.size() == 1;
  // SECRET_KEY_BASE, token_value, password_b64.
  static constexpr std::array<std::string_view, 8> holders = {"base", "value", "val", "data", "string", "str", "b64", "base64"};
  if (oneOf(std::string_view(last), holders)) {
    for (std::size_t i = 0; i + 1 < parts.size(); ++i)
      if (partIsSecretWord(parts[i]) || parts[i] == "key") return true;
  }
  return false;
}

// A word that, standing just before a long random-looking token, says the
// token is a credential ("secret key wJalr...", "using token 3f9a...").
bool isKeyLikeWord(std::string_view word) {
  const auto parts = nameParts(word);
  if (parts.size() > 1 && parts.back() == "key" && oneOf(std::string_view(parts[parts.size() - 2]), kPlainKeyPrefixes))
    return false;
  for (const auto& p : parts) {
    if (partIsSecretWord(p) || p == "key" || p == "auth" || p == "bearer" || p == "sig") return true;
  }
  return false;
}

// Values that say "no secret here": null, true, ${VAR}, ***, <redacted>.
bool isPlaceholder(std::string_view v) {
  if (v.empty()) return true;
  static constexpr std::array<std::string_view, 22> words = {
      "null", "nil",    "none",    "true",    "false",    "yes",     "no",     "undefined",
      "empty", "redacted", "masked", "hidden", "omitted",  "unset",   "notset", "n/a",
      "na",   "tbd",    "todo",    "<nil>",   "[redacted]", "[filtered]"};
  if (oneOf(std::string_view(toLower(v)), words)) return true;
  if (v.size() >= 3 && std::all_of(v.begin(), v.end(), [](char c) { return c == '*' || c == 'x' || c == 'X' || c == '.'; }))
    return true;
  if (v.rfind("${", 0) == 0 || v.rfind("$(", 0) == 0 || v.rfind("{{", 0) == 0 || v.rfind("%(", 0) == 0) return true;
  if (v == "%s" || v == "%v" || v == "%q" || v == "%d" || v == "?") return true;
  if (v.front() == '<' && v.back() == '>') return true;
  // $DB_PASSWORD: a shell variable, not its value.
  auto envChar = [](char c) { return isUpper(c) || isDigit(c) || c == '_'; };
  if (v.size() >= 2 && v[0] == '$' && std::all_of(v.begin() + 1, v.end(), envChar)) return true;
  return false;
}

bool isPath(std::string_view v) {
  if (v.rfind("./", 0) == 0 || v.rfind("~/", 0) == 0 || v.rfind("file:", 0) == 0) return true;
  // $PKI/client.key
  if (v.size() > 2 && v[0] == '$') {
    std::size_t i = 1;
    while (i < v.size() && (isUpper(v[i]) || isDigit(v[i]) || v[i] == '_')) ++i;
    if (i > 1 && i < v.size() && v[i] == '/') return true;
  }
  return v.size() > 1 && v[0] == '/' && v.find('/', 1) != std::string_view::npos;
}

// Words that follow "token:" or "password:" in error messages and are not
// the secret ("failed to fetch token: unexpected status", "using password: YES").
bool isProseWord(std::string_view v) {
  static constexpr std::array<std::string_view, 36> words = {
      "expired", "invalid", "missing", "required", "timeout",  "unauthorized", "forbidden",  "denied",
      "not",     "unknown", "error",   "failed",   "failure",  "incorrect",    "wrong",      "mismatch",
      "malformed", "bad",   "unexpected", "illegal", "rejected", "revoked",   "ok",         "set",
      "provided", "present", "absent",  "disabled", "enabled",  "none",       "changed",    "reset",
      "supplied", "refused", "valid", "verified"};
  return oneOf(std::string_view(toLower(v)), words);
}

bool isWordy(std::string_view v) {
  if (v.empty() || v.size() > 24) return false;
  if (!std::all_of(v.begin(), v.end(), isAlpha)) return false;
  // lower case or Capitalised, like prose.
  return std::all_of(v.begin() + 1, v.end(), isLowerC);
}

enum class Sep {
  Tight,  // key=value, key:value, "key":"value"
  Spaced, // key: value (YAML, headers, and also "error: token: expired")
  Flag,   // --password value
};

struct Value {
  std::size_t begin = 0, end = 0;
  bool quoted = false;
};

bool stopsUnquoted(char c) {
  return std::isspace(static_cast<unsigned char>(c)) || c == '"' || c == '\'' || c == '`' || c == ',' || c == ';' ||
         c == '&' || c == '<' || c == '>' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
}

// Parses the value that starts at `at` (after the separator). Sets `spaced`
// when blanks came first.
bool parseValue(std::string_view t, std::size_t at, Value& v, bool& spaced) {
  std::size_t i = at;
  while (i < t.size() && (t[i] == ' ' || t[i] == '\t')) ++i;
  spaced = i > at;
  if (i >= t.size()) return false;
  // JSON inside a JSON string: {\"password\":\"hunter2\"}
  if (t[i] == '\\' && i + 1 < t.size() && (t[i + 1] == '"' || t[i + 1] == '\'')) {
    const char q = t[i + 1];
    std::size_t j = i + 2;
    while (j < t.size() && t[j] != '\n' && !(t[j] == '\\' && j + 1 < t.size() && t[j + 1] == q)) ++j;
    v = {i + 2, j, true};
    return true;
  }
  if (t[i] == '"' || t[i] == '\'') {
    const char q = t[i];
    std::size_t j = i + 1;
    while (j < t.size() && t[j] != q && t[j] != '\n') j += (t[j] == '\\' && j + 1 < t.size() && t[j + 1] != '\n') ? 2 : 1;
    v = {i + 1, std::min(j, t.size()), true};
    return true;
  }
  const char first = t[i];
  if (stopsUnquoted(first) || first == '{' || first == '[' || first == '(' || first == ':' || first == '=' || first == '|' ||
      first == '>' || first == ')' || first == ']' || first == '}')
    return false;
  std::size_t j = i;
  for (;; ++j) {
    while (j < t.size() && !stopsUnquoted(t[j])) ++j;
    // '&' ends the value only when a query parameter follows
    // (password=x&next=/); a password may contain one (Tr0ub4dor&3).
    if (j >= t.size() || t[j] != '&') break;
    std::size_t k = j + 1;
    while (k < t.size() && (isAlpha(t[k]) || isDigit(t[k]) || t[k] == '_' || t[k] == '-' || t[k] == '.')) ++k;
    if (k > j + 1 && k < t.size() && (t[k] == '=' || t[k] == ';')) break;  // "&amp;" too
  }
  // Closing brackets of the surrounding structure: map[password:x], (password=x).
  while (j > i + 1 && (t[j - 1] == ')' || t[j - 1] == ']' || t[j - 1] == '}' || t[j - 1] == '.')) --j;
  v = {i, j, false};
  return true;
}

// More words follow on the same line: "token: unexpected status: 401".
bool proseFollows(std::string_view t, std::size_t end) {
  std::size_t i = end;
  if (i >= t.size() || (t[i] != ' ' && t[i] != '\t')) return false;
  while (i < t.size() && (t[i] == ' ' || t[i] == '\t')) ++i;
  return i < t.size() && (isAlpha(t[i]) || isDigit(t[i]) || t[i] == '(');
}

bool acceptValue(std::string_view t, const Value& v, Sep sep) {
  const auto s = t.substr(v.begin, v.end - v.begin);
  if (s.empty() || isPlaceholder(s) || isPath(s)) return false;
  if (s.rfind("[REDACTED]", 0) == 0) return false;
  if (s.rfind("-----BEGIN", 0) == 0) return false;  // the PEM detector keeps the armour lines
  if (v.quoted) return true;
  if (sep == Sep::Tight) return true;
  if (isProseWord(s)) return false;
  if (isWordy(s) && proseFollows(t, v.end)) return false;
  if (sep == Sep::Flag && (isWordy(s) || s[0] == '-')) return false;
  return true;
}

// ---------------------------------------------------------------------------
// Detectors

// A detector finds spans in the original text.
struct Detector {
  virtual ~Detector() = default;
  virtual void find(std::string_view text, std::vector<Span>& out) const = 0;
};

// A pattern whose named group "s" (or the whole match) is the secret;
// accept (optional) may veto a match.
struct PatternDetector : Detector {
  std::unique_ptr<RE2> re;
  int group = 0;
  bool (*accept)(std::string_view text, Span s) = nullptr;

  explicit PatternDetector(const std::string& pattern, bool (*acc)(std::string_view, Span) = nullptr)
      : re(compile(pattern)), group(groupIndex(*re, "s")), accept(acc) {}

  void find(std::string_view text, std::vector<Span>& out) const override {
    forEachMatch(*re, text, [&](const std::vector<StringPiece>& g) {
      const auto whole = spanOf(text, g[0]);
      const auto& sg = g[static_cast<std::size_t>(group)];
      if (sg.data() != nullptr && !sg.empty()) {
        const auto s = spanOf(text, sg);
        if (!accept || accept(text, s)) out.push_back(s);
      }
      return whole.end;
    });
  }
};

// A pattern that ends where a value starts and names the key in group "k";
// the key must be secret-like and the value (parsed in C++) not a
// placeholder, path or prose.
struct KeyValueDetector : Detector {
  std::unique_ptr<RE2> re;
  int keyGroup;
  Sep sepKind;  // Tight: decided by the blanks after the separator

  KeyValueDetector(const std::string& pattern, Sep kind)
      : re(compile(pattern)), keyGroup(groupIndex(*re, "k")), sepKind(kind) {}

  void find(std::string_view text, std::vector<Span>& out) const override {
    forEachMatch(*re, text, [&](const std::vector<StringPiece>& g) {
      const auto whole = spanOf(text, g[0]);
      const auto key = spanOf(text, g[static_cast<std::size_t>(keyGroup)]);
      const auto name = text.substr(key.begin, key.end - key.begin);
      // checksum/secret: <sha256> is a hash of a manifest (Helm convention).
      const bool checksum = key.begin >= 9 && iequals(text.substr(key.begin - 9, 9), "checksum/");
      // https://x-access-token:<token>@github.com is URL userinfo (the URL
      // detector keeps the host).
      const bool userinfo = key.begin >= 3 && text.substr(key.begin - 3, 3) == "://";
      if (checksum || userinfo || !isSecretKeyName(name)) return key.end;  // a secret key may start inside this one's value
      Value v;
      bool spaced = false;
      if (!parseValue(text, whole.end, v, spaced)) return whole.end;
      Sep sep = sepKind;
      if (sep == Sep::Tight && spaced) sep = Sep::Spaced;
      // pass=12 fail=0 is a test summary, not a password.
      const auto value = text.substr(v.begin, v.end - v.begin);
      const bool tally = iequals(name, "pass") && !v.quoted && std::all_of(value.begin(), value.end(), isDigit);
      if (!tally && acceptValue(text, v, sep)) out.push_back({v.begin, v.end});
      return std::max(v.end, whole.end);
    });
  }
};

bool looksLikeToken(std::string_view s) {
  bool digit = false, upper = false, lowerc = false, sym = false;
  for (char c : s) {
    digit |= isDigit(c);
    upper |= isUpper(c);
    lowerc |= isLowerC(c);
    sym |= (c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=' || c == '-');
  }
  return digit || sym || (upper && lowerc && s.size() >= 20);
}

bool base64DecodesToUserPass(std::string_view s) {
  auto val = [](char c) -> int {
    if (isUpper(c)) return c - 'A';
    if (isLowerC(c)) return c - 'a' + 26;
    if (isDigit(c)) return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  int bits = 0, acc = 0;
  for (char c : s) {
    if (c == '=') break;
    const int x = val(c);
    if (x < 0) return false;
    acc = (acc << 6) | x;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  if (out.size() < 3 || out.find(':') == std::string::npos) return false;
  return std::all_of(out.begin(), out.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x20; });
}

std::string_view sv(std::string_view t, Span s) { return t.substr(s.begin, s.end - s.begin); }

bool acceptAuthorization(std::string_view t, Span s) {
  const auto v = sv(t, s);
  static constexpr std::array<std::string_view, 9> schemes = {"basic", "bearer", "token", "digest", "negotiate",
                                                              "ntlm",  "apikey", "key",   "hmac"};
  if (oneOf(std::string_view(toLower(v)), schemes)) return false;
  if (isPlaceholder(v) || isProseWord(v) || v.rfind("[REDACTED]", 0) == 0) return false;
  if (isWordy(v) && proseFollows(t, s.end)) return false;
  return true;
}

bool acceptBearer(std::string_view t, Span s) { return looksLikeToken(sv(t, s)) && !isPlaceholder(sv(t, s)); }
bool acceptBasic(std::string_view t, Span s) { return base64DecodesToUserPass(sv(t, s)); }
bool acceptNotPlaceholder(std::string_view t, Span s) {
  const auto v = sv(t, s);
  return !isPlaceholder(v) && v.rfind("[REDACTED]", 0) != 0;
}

// Shannon entropy in bits per character.
double entropy(std::string_view s) {
  std::array<int, 256> n{};
  for (char c : s) ++n[static_cast<unsigned char>(c)];
  double h = 0;
  for (int k : n) {
    if (k == 0) continue;
    const double p = static_cast<double>(k) / static_cast<double>(s.size());
    h -= p * std::log2(p);
  }
  return h;
}

bool isUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !isHex(s[i])) return false;
  }
  return true;
}

// Lower-case words joined by hyphens or dots: Kubernetes names
// (checkout-7d9f8b6c5-x2x7q, kube-api-access-x2x7q).
bool isDnsLikeName(std::string_view s) {
  if (s.find('-') == std::string_view::npos) return false;
  auto nameChar = [](char c) { return isLowerC(c) || isDigit(c) || c == '-' || c == '.' || c == '/'; };
  return std::all_of(s.begin(), s.end(), nameChar);
}

// SNAKE_CASE or snake_case names with three or more parts
// (AWS_SECRET_ACCESS_KEY_PROD1): names, not values.
bool isIdentifier(std::string_view s) {
  if (std::count(s.begin(), s.end(), '_') < 2 || s.front() == '_' || s.back() == '_') return false;
  const bool allUpper = std::none_of(s.begin(), s.end(), isLowerC);
  const bool allLower = std::none_of(s.begin(), s.end(), isUpper);
  return (allUpper || allLower) && s.find("__") == std::string_view::npos &&
         std::all_of(s.begin(), s.end(), [](char c) { return isAlpha(c) || isDigit(c) || c == '_'; });
}

// Long random-looking tokens right after a key-like word: "aws secret key
// wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "using token 3f9a...".
struct EntropyDetector : Detector {
  static bool tokenChar(char c) { return isAlpha(c) || isDigit(c) || c == '+' || c == '/' || c == '_' || c == '-'; }
  static bool wordChar(char c) { return isAlpha(c) || isDigit(c) || c == '_' || c == '-'; }

  static bool highEntropy(std::string_view tok) {
    if (tok.size() < 20) return false;
    bool digit = false, alpha = false;
    for (char c : tok) {
      digit |= isDigit(c);
      alpha |= isAlpha(c);
    }
    if (!digit || !alpha) return false;
    if (isUuid(tok) || isDnsLikeName(tok) || isIdentifier(tok) || tok[0] == '/') return false;
    const bool hexOnly = std::all_of(tok.begin(), tok.end(), [](char c) { return isHex(c); });
    if (hexOnly) return tok.size() >= 32 && entropy(tok) >= 3.0;
    return entropy(tok) >= 3.5;
  }

  // A key-like word among the three words before `at`, on the same line and
  // within 48 bytes.
  static bool keyWordBefore(std::string_view t, std::size_t at) {
    const std::size_t limit = at > 48 ? at - 48 : 0;
    std::size_t i = at;
    for (int words = 0; words < 3 && i > limit; ++words) {
      while (i > limit && !wordChar(t[i - 1])) {
        if (t[i - 1] == '\n') return false;
        --i;
      }
      const std::size_t end = i;
      while (i > limit && wordChar(t[i - 1])) --i;
      if (end == i) return false;
      const auto word = t.substr(i, end - i);
      // checksum/secret: <sha256> names a hash, not a credential; a marker
      // ends what an earlier redaction already handled.
      if ((i > 0 && t[i - 1] == '/') || word == "REDACTED") return false;
      // PEM armour ("PRIVATE KEY-----") is not a key word.
      if ((word == "KEY" && end < t.size() && t[end] == '-') || word.find("-----") != std::string_view::npos) continue;
      if (isKeyLikeWord(word)) return true;
    }
    return false;
  }

  void find(std::string_view t, std::vector<Span>& out) const override {
    std::size_t i = 0;
    while (i < t.size()) {
      if (!tokenChar(t[i])) {
        ++i;
        continue;
      }
      std::size_t j = i;
      while (j < t.size() && tokenChar(t[j])) ++j;
      std::size_t end = j;
      while (end < t.size() && end < j + 2 && t[end] == '=') ++end;  // base64 padding
      const auto tok = t.substr(i, j - i);
      // Digests and IDs: sha256:<hex>, containerd://<hex>, image@sha256:...
      const bool digest = i > 0 && (t[i - 1] == ':' || t[i - 1] == '@') &&
                          (i < 2 || t[i - 2] != ' ');  // "key: <token>" is not a digest
      if (!digest && highEntropy(tok) && keyWordBefore(t, i)) out.push_back({i, end});
      i = end;
    }
  }
};

// PEM private keys: the body between the armour lines, also flattened onto
// one line (spaces, "\n" escapes) or cut off before the END line (then up to
// the first character that cannot be in a key body).
struct PemDetector : Detector {
  std::unique_ptr<RE2> begin = compile(R"(-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----)");
  std::unique_ptr<RE2> end = compile(R"(-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----)");

  static bool bodyChar(char c) {
    return isAlpha(c) || isDigit(c) || c == '+' || c == '/' || c == '=' || c == ':' || c == ',' || c == '.' ||
           c == '-' || c == '_' || c == '\\' || std::isspace(static_cast<unsigned char>(c));
  }

  void find(std::string_view t, std::vector<Span>& out) const override {
    const StringPiece all(t.data(), t.size());
    forEachMatch(*begin, t, [&](const std::vector<StringPiece>& g) {
      const std::size_t b = spanOf(t, g[0]).end;
      std::size_t i = b;
      while (i < t.size() && bodyChar(t[i])) {
        if (t[i] == '-' && t.compare(i, 8, "-----END") == 0 &&
            end->Match(all, i, t.size(), RE2::ANCHOR_START, nullptr, 0))
          break;
        ++i;
      }
      if (i > b) out.push_back({b, i});
      return i;
    });
  }
};

// The name of a key that may hold a secret: contains one of these fragments
// (isSecretKeyName decides). Preceded by a non-name character.
const std::string kKeyName = R"((?P<k>[A-Za-z0-9_.-]*(?i:pass|pw|secret|token|key|auth|cred|signature)[A-Za-z0-9_.-]*))";

std::vector<std::unique_ptr<Detector>> buildDetectors() {
  std::vector<std::unique_ptr<Detector>> d;
  auto pattern = [&](const std::string& p, bool (*acc)(std::string_view, Span) = nullptr) {
    d.push_back(std::make_unique<PatternDetector>(p, acc));
  };

  d.push_back(std::make_unique<PemDetector>());

  // scheme://user:password@host, also with an empty user (redis://:pw@host).
  pattern(R"((?i)\b[a-z][a-z0-9+.-]{1,30}://[^:/?#@\s"'<>\\]*:(?P<s>[^\s/?"'<>]+)@)", acceptNotPlaceholder);
  // Go MySQL DSN: user:password@tcp(host:3306)/db
  pattern(R"(\b[A-Za-z0-9_.+-]+:(?P<s>[^\s/"'@]+(?:@[^\s/"'@]+)*)@(?:tcp|tcp4|tcp6|udp|unix)\()", acceptNotPlaceholder);

  // Authorization headers: header form, JSON, Go's http.Header, logfmt.
  pattern(R"re((?i)\b(?:proxy-)?authorization(?:\\?["'])?[ \t]*[:=][ \t]*\[?[ \t]*(?:\\?["'])?[ \t]*(?:(?:basic|bearer|token|digest|negotiate|ntlm|apikey|api-key|sso-key|key|hmac|aws4-hmac-sha256)[ \t]+)?(?P<s>[^\s"'\\,;\[\]]+))re",
          acceptAuthorization);
  pattern(R"((?i)\bbearer[ \t]+(?P<s>[A-Za-z0-9._~+/=-]{12,}))", acceptBearer);
  pattern(R"((?i)\bbasic[ \t]+(?P<s>[A-Za-z0-9+/]{8,}={0,2}))", acceptBasic);

  // Token formats recognisable on their own.
  const std::vector<std::string> formats = {
      R"(\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z0-9]{16}\b)",  // AWS key IDs
      R"(\bgh[pousr]_[A-Za-z0-9]{30,255}\b)",                                              // GitHub
      R"(\bgithub_pat_[A-Za-z0-9_]{22,255})",
      R"(\bgl(?:pat|dt|rt|ptt|cbt|imt|ft|soat|oas|agent)-[A-Za-z0-9_-]{20,})",  // GitLab
      R"(\bxox[abposre]-[A-Za-z0-9-]{10,})",                                    // Slack
      R"(\bxapp-[0-9]-[A-Za-z0-9-]{10,})",
      R"(\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,})",  // Stripe
      R"(\bwhsec_[A-Za-z0-9+/=]{20,})",
      R"(\bnpm_[A-Za-z0-9]{36}\b)",                       // npm
      R"(\bhv[sbr]\.[A-Za-z0-9_-]{20,})",                 // Vault
      R"(\bAIza[0-9A-Za-z_-]{35})",                       // Google API key
      R"(\bya29\.[0-9A-Za-z_-]{20,})",                    // Google OAuth access token
      R"(\bGOCSPX-[A-Za-z0-9_-]{20,})",                   // Google OAuth client secret
      R"(\b1//0[A-Za-z0-9_-]{30,})",                      // Google refresh token
      R"(\bsk-(?:proj|svcacct|admin|ant|or)-[A-Za-z0-9_-]{20,})",  // OpenAI, Anthropic, OpenRouter
      R"(\bsk-[A-Za-z0-9]{32,}\b)",
      R"(\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}(?:\.[A-Za-z0-9_-]*){1,3})",  // JWT, JWE
      R"(\bhf_[A-Za-z0-9]{30,}\b)",                                           // Hugging Face
      R"(\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,})",                      // SendGrid
      R"(\bSK[0-9a-f]{32}\b)",                                                // Twilio
      R"(\bkey-[0-9a-f]{32}\b)",                                              // Mailgun
      R"(\bshp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}\b)",                            // Shopify
      R"(\bdo[opr]_v1_[a-f0-9]{64}\b)",                                       // DigitalOcean
      R"(\bdckr_pat_[A-Za-z0-9_-]{20,})",                                     // Docker Hub
      R"(\bpypi-AgE[A-Za-z0-9_-]{50,})",                                      // PyPI
      R"(\bdapi[a-f0-9]{32}\b)",                                              // Databricks
      R"(\bglsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}\b)",                           // Grafana
      R"(\bglc_[A-Za-z0-9+/]{32,}={0,2})",
      R"(\bAGE-SECRET-KEY-1[0-9A-Z]{58}\b)",                                  // age
      R"(\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}\b)",                                // Postman
      R"(\bNRAK-[A-Z0-9]{27}\b)",                                             // New Relic
      R"(\blin_api_[A-Za-z0-9]{40}\b)",                                       // Linear
      R"(\bdp\.(?:pt|st|ct|sa|scim|audit)\.[A-Za-z0-9]{40,})",                // Doppler
      R"(\bpul-[a-f0-9]{40}\b)",                                              // Pulumi
      R"(\bATATT3[A-Za-z0-9_=-]{50,})",                                       // Atlassian
  };
  std::string all;
  for (const auto& f : formats) all += (all.empty() ? "" : "|") + ("(?:" + f + ")");
  pattern(all);

  // Azure: client secrets (xxx8Q~...), SAS signatures (sig=...).
  pattern(R"((?:^|[^A-Za-z0-9_~.-])(?P<s>[A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34})(?:$|[^A-Za-z0-9_~.-]))");
  pattern(R"((?i)[?&;]sig=(?P<s>[A-Za-z0-9%+/=_-]{16,}))");
  // Webhook URLs whose path is the credential.
  pattern(R"((?i)hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>[A-Za-z0-9_/-]{8,}))");
  pattern(R"((?i)discord(?:app)?\.com/api/webhooks/[0-9]+/(?P<s>[A-Za-z0-9_-]{20,}))");
  pattern(R"((?i)api\.telegram\.org/bot(?P<s>[0-9]{6,}:[A-Za-z0-9_-]{30,}))");

  // key=value, key: value, "key": "value", key => value, {\"key\":\"value\"}.
  d.push_back(std::make_unique<KeyValueDetector>(
      R"((?:^|[^A-Za-z0-9_.-]))" + kKeyName + R"((?:\\?["']|[ \t]*)(?:=>|:|=))", Sep::Tight));
  // Container env in JSON or YAML: {"name":"DB_PASSWORD","value":"..."}, - name: X\n  value: y
  d.push_back(std::make_unique<KeyValueDetector>(
      R"((?i)\bname\\?["']?[ \t]*:[ \t]*\\?["']?(?P<k>[A-Za-z0-9_.-]+)\\?["']?[ \t]*(?:,[ \t]*|\r?\n[ \t]*)\\?["']?value\\?["']?[ \t]*:)",
      Sep::Tight));
  // Command lines: --db-password hunter2, ["--token","abc"].
  d.push_back(std::make_unique<KeyValueDetector>(
      R"((?:^|[\s"'\[,])--?)" + kKeyName + R"((?:[ \t]+|\\?["'][ \t]*,[ \t]*))", Sep::Flag));

  d.push_back(std::make_unique<EntropyDetector>());
  return d;
}

const std::vector<std::unique_ptr<Detector>>& detectors() {
  static const auto d = buildDetectors();
  return d;
}

}  // namespace

Redacted redactSecrets(std::string_view text) {
  std::vector<Span> spans;
  for (const auto& det : detectors()) det->find(text, spans);
  Redacted out;
  if (spans.empty()) {
    out.text = std::string(text);
    return out;
  }
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin || (a.begin == b.begin && a.end > b.end); });
  out.text.reserve(text.size());
  std::size_t last = 0;
  std::size_t i = 0;
  while (i < spans.size()) {
    Span cur = spans[i++];
    while (i < spans.size() && spans[i].begin <= cur.end) cur.end = std::max(cur.end, spans[i++].end);
    if (cur.begin < last) cur.begin = last;
    if (cur.end <= cur.begin) continue;
    out.text.append(text.substr(last, cur.begin - last));
    out.text.append(kRedactedMarker);
    last = cur.end;
    ++out.redactions;
  }
  out.text.append(text.substr(last));
  return out;
}

bool looksLikeSecretKeyName(std::string_view name) { return isSecretKeyName(name); }

bool looksLikeInjection(std::string_view text) {
  static const auto pattern = compile(
      R"((?i)(ignore|disregard|forget)\s+(all\s+|any\s+|the\s+)?(previous|prior|above|earlier)\s+(instructions|prompts?|rules)|you\s+are\s+now\s+|new\s+instructions\s*:|system\s+prompt|<\s*/?\s*(system|assistant)\s*>|act\s+as\s+(an?\s+)?(admin|root|developer mode)|call\s+the\s+tool|run\s+kubectl\s+(delete|apply|patch|exec))");
  return RE2::PartialMatch(StringPiece(text.data(), text.size()), *pattern);
}

Truncated truncateText(std::string_view text, std::size_t maxBytes, bool keepTail) {
  if (text.size() <= maxBytes) return {std::string(text), false};
  auto isContinuation = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; };
  std::size_t cut = text.size() - maxBytes;
  if (keepTail) {
    std::size_t start = cut;
    while (start < text.size() && isContinuation(text[start])) ++start;
    // Start at a line boundary when one is near, so the first line is whole.
    if (auto nl = text.find('\n', start); nl != std::string_view::npos && nl - start < 200) start = nl + 1;
    return {"[... " + std::to_string(start) + " earlier bytes truncated ...]\n" + std::string(text.substr(start)), true};
  }
  std::size_t end = maxBytes;
  while (end > 0 && isContinuation(text[end])) --end;
  return {std::string(text.substr(0, end)) + "\n[... " + std::to_string(text.size() - end) + " more bytes truncated ...]",
          true};
}

}  // namespace opscopilot::agent
