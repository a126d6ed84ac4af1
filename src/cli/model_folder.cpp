#include "cli/model_folder.h"

#include "core/error.h"
#include "io/hf_cache.h"

namespace s0::cli {

CLI::Validator hub_folder() {
  return CLI::Validator(
      [](std::string& value) {
        try {
          value = resolve_model_folder(value).string();
          return std::string();
        } catch (const Error& e) {
          return std::string(e.what());
        }
      },
      "FOLDER or ORG/NAME[@REVISION]");
}

CLI::Option* add_model_option(CLI::App& app, std::string& model, const std::string& help) {
  return app.add_option("--model", model, help + "; or a Hugging Face repo id (ORG/NAME[@REVISION]) in the hub cache")
      ->transform(hub_folder());
}

void add_adapter_options(CLI::App& app, std::string& adapter, std::optional<double>& alpha,
                         const std::string& adapter_help) {
  app.add_option("--adapter", adapter, adapter_help + " (a folder, or a hub repo id)")->transform(hub_folder());
  app.add_option("--alpha", alpha, "scale of the adapter's states (default: the adapter's, else the family's)");
}

}  // namespace s0::cli
