#pragma once
/// The matching engine: one OrderBook per symbol.
///
/// Threading contract:
/// - Symbols are registered during set-up (AddSymbol), before any book is driven; AddSymbol is
///   not safe concurrently with any other call.
/// - After set-up, the symbol table is read-only: FindSymbol, SymbolName and Book(id) may be
///   called from any thread.
/// - Each book is single-writer: all calls that reach one book (Submit, Cancel, Amend, Move and
///   the book's queries) must come from one thread at a time — typically a thread (or strand)
///   that owns a shard of symbols. Different books may be driven from different threads at once;
///   they share no state. Nothing here blocks, locks, performs I/O or reads a clock.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "flowex/matching/order_book.hpp"
#include "flowex/matching/types.hpp"

namespace flowex::matching {

/// Dense index of a registered symbol, stable for the engine's lifetime.
using SymbolId = std::uint32_t;

class MatchingEngine {
public:
    MatchingEngine() = default;

    /// Registers a symbol with its own book; nullopt if the name is empty or already registered.
    std::optional<SymbolId> AddSymbol(std::string_view symbol, const BookConfig& config = {});

    std::optional<SymbolId> FindSymbol(std::string_view symbol) const;
    const std::string& SymbolName(SymbolId id) const { return names_.at(id); }
    std::size_t SymbolCount() const noexcept { return books_.size(); }

    /// The book of a registered symbol (the id must come from AddSymbol/FindSymbol).
    OrderBook& Book(SymbolId id) noexcept { return *books_[id]; }
    const OrderBook& Book(SymbolId id) const noexcept { return *books_[id]; }

    /// Forwarders to Book(id); same events and span lifetime as OrderBook's.
    std::span<const Event> Submit(SymbolId id, const NewOrder& order) {
        return books_[id]->Submit(order);
    }
    std::span<const Event> Cancel(SymbolId id, OrderId order) { return books_[id]->Cancel(order); }
    std::span<const Event> Amend(SymbolId id, OrderId order, Price price, Quantity quantity) {
        return books_[id]->Amend(order, price, quantity);
    }
    std::span<const Event> Move(SymbolId id, OrderId order, Price price) {
        return books_[id]->Move(order, price);
    }

private:
    std::vector<std::unique_ptr<OrderBook>> books_;  // unique_ptr: book addresses stay stable
    std::vector<std::string> names_;
    std::unordered_map<std::string, SymbolId> ids_;
};

}  // namespace flowex::matching
