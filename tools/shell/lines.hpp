#pragma once
// assure-shell's words: a line the engineer types becomes one request to the daemon's control
// socket (firmware/shell/SHELL-PROTOCOL.md), and each response becomes lines for a person. Kept
// apart from the terminal so both are tested without one.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace assure::shell_tool {

struct Parsed {
  nlohmann::json request;  // null: nothing to send (an empty line, exit, help for the shell itself)
  std::string error;       // a line that makes no request: what is wrong with it
  bool exit = false;
};

Parsed parse_line(std::string_view line);

// The response as text for a person; `ok` false prints "error: ..." (to stderr, by the caller).
std::string describe(const nlohmann::json& request, const nlohmann::json& response);

// A line the daemon streams while a test runs ("test input", "camera aim"), for a person.
std::string streamed_line(const nlohmann::json& line);

// Completion: the words that can follow `before` (the line up to the word being typed), from the
// shell's commands and the schema's keys and choices.
std::vector<std::string> completions(std::string_view before, std::string_view word);

extern const char* const kHelp;

}  // namespace assure::shell_tool
