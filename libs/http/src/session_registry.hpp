#pragma once
// The open connections of a server, for the sweeps that act on them from another thread
// (idle and header timeouts, eviction at the connection limit, shutdown).
//
// An item removes itself from its destructor, which takes the registry's lock. Whoever
// holds that lock must therefore never release the last reference to an item: on the
// thread holding the lock the destructor would wait for that same lock for ever. (The
// server's sweep once did exactly that when a connection ended on another io thread while
// the sweep held it, and the listener stopped accepting for good.) So the lock is held only
// to copy strong references; callers act on them, and release them, after Snapshot returns.
#include <cstddef>
#include <limits>
#include <list>
#include <memory>
#include <mutex>
#include <vector>

namespace flowex::http::detail {

template <class T>  // T derives from std::enable_shared_from_this<T>
class SessionRegistry {
public:
    using Position = typename std::list<T*>::iterator;

    Position Add(T* item) {
        std::lock_guard<std::mutex> lock(mu_);
        return items_.insert(items_.end(), item);
    }

    /// From the item's destructor (the item is not used afterwards).
    void Remove(Position pos) {
        std::lock_guard<std::mutex> lock(mu_);
        items_.erase(pos);
    }

    /// Strong references to at most `limit` items that `select` accepts, in registration
    /// order. `select(const T&)` runs under the lock, before the item's reference is taken:
    /// it may only read the item's atomics (a registered item's memory stays valid while the
    /// lock is held, even once its destructor has started). Items whose destructor has
    /// started are skipped. The references are released by the caller, outside the lock.
    template <class Select>
    std::vector<std::shared_ptr<T>> Snapshot(Select select,
                                             std::size_t limit = std::numeric_limits<std::size_t>::max()) {
        std::vector<std::shared_ptr<T>> out;
        std::lock_guard<std::mutex> lock(mu_);
        for (T* item : items_) {
            if (out.size() >= limit) { break; }
            if (!select(static_cast<const T&>(*item))) { continue; }
            // Moved into the vector, never dropped here: see the comment at the top.
            if (std::shared_ptr<T> sp = item->weak_from_this().lock()) { out.push_back(std::move(sp)); }
        }
        return out;
    }

    std::size_t size() const {
        std::lock_guard<std::mutex> lock(mu_);
        return items_.size();
    }

private:
    mutable std::mutex mu_;
    std::list<T*> items_;
};

}  // namespace flowex::http::detail
