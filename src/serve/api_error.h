#pragma once
// An error answered to an API client: the HTTP status and the OpenAI-style error object
// {"error": {"message", "type", "param", "code"}} that clients of the OpenAI API understand.
#include <stdexcept>
#include <string>

#include "io/json.h"

namespace s0::serve {

struct ApiError : std::runtime_error {
  int status;
  std::string type;   // invalid_request_error, authentication_error, not_found_error, ...
  std::string param;  // the request field at fault, or empty
  std::string code;   // a machine-readable code (model_not_found, ...), or empty
  ApiError(int status, std::string type, const std::string& message, std::string param = "", std::string code = "")
      : std::runtime_error(message), status(status), type(std::move(type)), param(std::move(param)),
        code(std::move(code)) {}
};

// 400 invalid_request_error naming the field.
inline ApiError bad_request(const std::string& message, const std::string& param = "") {
  return ApiError(400, "invalid_request_error", message, param);
}

inline Json error_body(const ApiError& e) {
  return {{"error",
           {{"message", e.what()},
            {"type", e.type},
            {"param", e.param.empty() ? Json() : Json(e.param)},
            {"code", e.code.empty() ? Json() : Json(e.code)}}}};
}

}  // namespace s0::serve
