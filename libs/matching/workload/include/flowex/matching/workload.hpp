#pragma once
/// Recorded order streams (../shared/bench/README.md format) for the matching benchmark and the
/// replay test. Separate from flowex_matching, which stays free of I/O: only this target reads
/// files.
///
/// Format: CSV with a header line, `seq,op,order,side,price,qty,user`; seq -1 marks prefill
/// orders; op is GTC, IOC, CANCEL or MOVE. Plain or gzip-compressed files are both accepted.
#include <span>
#include <string>
#include <vector>

#include "flowex/matching/order_book.hpp"
#include "flowex/matching/types.hpp"

namespace flowex::matching::workload {

enum class OpKind : std::uint8_t { kGtc, kIoc, kCancel, kMove };

struct Op {
    OpKind kind = OpKind::kGtc;
    Side side = Side::kBuy;
    OrderId order = 0;
    Price price = 0;
    Quantity quantity = 0;
    UserId user = 0;
};

struct Workload {
    std::vector<Op> prefill;   ///< seq == -1
    std::vector<Op> measured;  ///< seq 0, 1, 2, ...
};

/// Reads and parses a whole stream into memory. On failure returns false and sets `error` to a
/// message naming the file (and line, for malformed input).
bool Load(const std::string& path, Workload& out, std::string& error);

/// Applies one operation to a book; returns its events (OrderBook span lifetime).
inline std::span<const Event> Apply(OrderBook& book, const Op& op) {
    switch (op.kind) {
        case OpKind::kGtc:
        case OpKind::kIoc:
            return book.Submit(NewOrder{
                .id = op.order,
                .user = op.user,
                .side = op.side,
                .type = OrderType::kLimit,
                .tif = op.kind == OpKind::kGtc ? TimeInForce::kGtc : TimeInForce::kIoc,
                .price = op.price,
                .quantity = op.quantity,
            });
        case OpKind::kCancel:
            return book.Cancel(op.order);
        case OpKind::kMove:
            return book.Move(op.order, op.price);
    }
    return {};
}

/// Number of trade events in `events`.
inline std::size_t CountTrades(std::span<const Event> events) {
    std::size_t trades = 0;
    for (const Event& event : events) { trades += event.type == EventType::kTrade ? 1U : 0U; }
    return trades;
}

}  // namespace flowex::matching::workload
