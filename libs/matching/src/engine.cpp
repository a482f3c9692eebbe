#include "flowex/matching/engine.hpp"

namespace flowex::matching {

std::optional<SymbolId> MatchingEngine::AddSymbol(std::string_view symbol,
                                                  const BookConfig& config) {
    if (symbol.empty() || ids_.contains(std::string(symbol))) { return std::nullopt; }
    const auto id = static_cast<SymbolId>(books_.size());
    books_.push_back(std::make_unique<OrderBook>(config));
    names_.emplace_back(symbol);
    ids_.emplace(std::string(symbol), id);
    return id;
}

std::optional<SymbolId> MatchingEngine::FindSymbol(std::string_view symbol) const {
    const auto it = ids_.find(std::string(symbol));
    if (it == ids_.end()) { return std::nullopt; }
    return it->second;
}

}  // namespace flowex::matching
