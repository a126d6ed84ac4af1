#pragma once
// The messages between s0 and its sandbox spawner (sandbox_spawner.h): a run request (the program
// and its limits) and its answer (the RunResult, or the error the run failed with). Both ends are
// the same binary, so fields are written in memory order; only lengths guard against a short message.
#include <optional>
#include <string>

#include "eval/sandbox.h"

namespace s0 {

struct RunRequest {
  std::string program;
  SandboxLimits limits;
};

// The answer: a result, or the one-line error that running the program threw.
struct RunAnswer {
  std::optional<RunResult> result;
  std::string error;
};

std::string encode_request(const RunRequest& request);
std::string encode_answer(const RunAnswer& answer);
// Empty when the bytes are not a whole message (the other end died while writing).
std::optional<RunRequest> decode_request(const std::string& bytes);
std::optional<RunAnswer> decode_answer(const std::string& bytes);

}  // namespace s0
