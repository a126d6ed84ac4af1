#pragma once
// The usual helper for std::visit with one lambda per alternative.
namespace s0 {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

}  // namespace s0
