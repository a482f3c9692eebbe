#pragma once
/// A FIFO mutex for coroutines on one executor: `co_await m.Lock()` suspends (never blocks
/// the thread) until the previous holder unlocks; the returned guard unlocks on destruction.
/// Not thread-safe: all users must run on the same single-threaded executor.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <list>

namespace flowex::orders {

class AsyncMutex {
public:
    class Guard {
    public:
        explicit Guard(AsyncMutex* m) noexcept : m_(m) {}
        Guard(Guard&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
        Guard& operator=(Guard&&) = delete;
        ~Guard() {
            if (m_ != nullptr) { m_->Unlock(); }
        }

    private:
        AsyncMutex* m_;
    };

    boost::asio::awaitable<Guard> Lock() {
        if (!locked_) {
            locked_ = true;
            co_return Guard(this);
        }
        boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor,
                                        boost::asio::steady_timer::time_point::max());
        Waiter self{&timer, false};
        waiters_.push_back(&self);
        // If this coroutine is destroyed while waiting (shutdown), forget the waiter.
        struct Unlink {
            AsyncMutex* m;
            Waiter* w;
            ~Unlink() {
                if (!w->woken) { m->waiters_.remove(w); }
            }
        } unlink{this, &self};
        boost::system::error_code ec;
        co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
        // Woken by Unlock: ownership was handed over (locked_ stayed true).
        co_return Guard(this);
    }

    bool locked() const noexcept { return locked_; }
    std::size_t waiting() const noexcept { return waiters_.size(); }

private:
    struct Waiter {
        boost::asio::steady_timer* timer;
        bool woken;
    };
    void Unlock() noexcept {
        if (waiters_.empty()) {
            locked_ = false;
            return;
        }
        Waiter* w = waiters_.front();
        waiters_.pop_front();
        w->woken = true;
        w->timer->cancel();
    }

    bool locked_ = false;
    std::list<Waiter*> waiters_;
};

}  // namespace flowex::orders
