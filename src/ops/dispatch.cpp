#include "ops/dispatch.h"

#include "core/error.h"

namespace s0::ops {

namespace {
template <class Tensors>
Device device_among(const char* op, const Tensors& tensors) {
  Device found;
  bool any = false;
  for (const Tensor* t : tensors) {
    if (!t || t->empty()) continue;
    if (any && !(t->device() == found))
      fail("internal: op ", op, " has tensors on ", device_name(found), " and ", device_name(t->device()));
    found = t->device();
    any = true;
  }
  return found;
}
}  // namespace

Device device_of(const char* op, std::initializer_list<const Tensor*> tensors) { return device_among(op, tensors); }
Device device_of(const char* op, const std::vector<const Tensor*>& tensors) { return device_among(op, tensors); }

void no_backend(const char* op, Device device) {
  fail("op ", op, " has no implementation for ", device_name(device), " in this build");
}

}  // namespace s0::ops
