#include "tune/adam.h"

#include <cmath>

#include "core/error.h"
#include "core/ordered_sum.h"

namespace s0 {

Adam::Adam(const AdamConfig& cfg, const std::vector<Tensor>& params, const AdamState* resume) : cfg_(cfg) {
  if (resume) {
    bool fits = resume->m.size() == params.size() && resume->v.size() == params.size();
    for (size_t k = 0; fits && k < params.size(); ++k)
      fits = static_cast<int64_t>(resume->m[k].size()) == params[k].numel() &&
             static_cast<int64_t>(resume->v[k].size()) == params[k].numel();
    if (!fits) fail("internal: resumed Adam moments do not match the parameters");
    s_ = *resume;
    return;
  }
  for (const Tensor& p : params) {
    s_.m.emplace_back(static_cast<size_t>(p.numel()), 0.0);
    s_.v.emplace_back(static_cast<size_t>(p.numel()), 0.0);
  }
}

double Adam::step(std::vector<Tensor>& params, std::vector<Tensor>& grads) {
  if (params.size() != grads.size() || params.size() != s_.m.size()) fail("internal: Adam parameter count changed");
  double sq = 0;
  for (const Tensor& g : grads) sq += sum_of_squares(g.f32(), g.numel());
  const double norm = std::sqrt(sq);
  const double coef = cfg_.grad_clip > 0 ? std::min(1.0, cfg_.grad_clip / (norm + 1e-6)) : 1.0;
  const int t = ++s_.t;
  const double bc1 = 1.0 - std::pow(cfg_.beta1, t), bc2 = 1.0 - std::pow(cfg_.beta2, t);
  const AdamConfig c = cfg_;
  for (size_t k = 0; k < params.size(); ++k) {
    float* p = params[k].f32_mut();
    float* g = grads[k].f32_mut();
    double* m = s_.m[k].data();
    double* v = s_.v[k].data();
    // Each element's update is its own: any split over the cores gives the same bits.
#pragma omp parallel for schedule(static) if (params[k].numel() > (int64_t{1} << 16))
    for (int64_t i = 0; i < params[k].numel(); ++i) {
      const double gi = g[i] * coef;
      g[i] = static_cast<float>(gi);
      m[i] = c.beta1 * m[i] + (1.0 - c.beta1) * gi;
      v[i] = c.beta2 * v[i] + (1.0 - c.beta2) * gi * gi;
      p[i] = static_cast<float>(p[i] - c.lr * (m[i] / bc1) / (std::sqrt(v[i] / bc2) + c.eps));
    }
  }
  return norm;
}

}  // namespace s0
