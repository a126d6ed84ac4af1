#pragma once
// A small model folder (with a chat template and two adapters) and an in-process `s0 serve` over
// it on a free port of 127.0.0.1, shut down (drained) when the object goes.
#include <memory>
#include <string>
#include <thread>

#include "generate/model_session.h"
#include "serve/server.h"
#include "support/byte_model_folder.h"

namespace s0::test {

struct ModelFolder {
  TempDir tmp;
  Qwen35Dims dims;
  std::string model, warm, cold;  // the model, and two adapters for it
  explicit ModelFolder(int64_t max_positions = 256) : dims(small_dims(16)) {
    dims.max_positions = max_positions;
    model = write_model(tmp / "model", dims);
    write_plain_chat_template(model);
    warm = write_adapter_for(tmp / "warm", dims, 0.5f);
    cold = write_adapter_for(tmp / "cold", dims, -0.3f);
  }
};

class ServerUnderTest {
 public:
  ServerUnderTest(const ModelFolder& folder, serve::ServerOptions options) : session_(folder.model) {
    options.port = 0;
    options.base_name = "base";
    server_ = std::make_unique<serve::Server>(session_, options);
    server_->adapters().load("warm", folder.warm);
    server_->adapters().load("cold", folder.cold);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->run(); });
  }
  ~ServerUnderTest() {
    server_->shutdown();
    thread_.join();
  }
  int port() const { return port_; }

 private:
  ModelSession session_;
  std::unique_ptr<serve::Server> server_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace s0::test
