#pragma once

namespace assure::app {

// std::visit over a variant with one lambda per alternative.
template <class... Ts>
struct overloaded : Ts... {
  using Ts::operator()...;
};

}  // namespace assure::app
