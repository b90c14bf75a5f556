// Sentences from named values, for finding titles and remediations.
//
// A value read from the cluster may be empty (a scheduler message that does
// not name the taint, an event that does not carry the image); pasted into a
// sentence it leaves a hole ("Image  does not exist", "`crane ls `",
// "{key: , operator: Exists}"). Every analyzer sentence built from such a
// value goes through fill(), which never leaves one: the caller names what an
// absent value reads like. tests/unit/analysis_harness.h fails any analyzer
// test whose findings or answer still show a hole.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace opscopilot::tools::analysis {

// A named value for fill(). `fallback` is what the sentence says instead of
// an empty value: a phrase ("taints the scheduler does not name", "its
// registry") or a placeholder a person fills in ("<pod>"). There is no
// default: every caller decides what an absent value reads like.
struct Slot {
  Slot(std::string_view name, std::string value, std::string fallback)
      : name(name), value(std::move(value)), fallback(std::move(fallback)) {}
  std::string_view name;
  std::string value;
  std::string fallback;
};

// Replaces each "${name}" in tmpl by its slot's value, or by the slot's
// fallback when the value is empty or blank. Never renders an empty string
// for a placeholder: an empty fallback, or a placeholder without a slot,
// renders "<name>", visibly. Text without "${" is copied as is (braces of
// JSON and YAML snippets need no escaping).
std::string fill(std::string_view tmpl, std::initializer_list<Slot> slots);

}  // namespace opscopilot::tools::analysis
