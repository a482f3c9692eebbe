#pragma once
/// Metrics: counters, gauges and histograms with labels, rendered in the Prometheus text
/// exposition format (0.0.4) for `/metrics`.
///
/// Cheap by design: look a label set up once (`WithLabels`, a mutex + map lookup) and keep the
/// returned reference; updating it is a relaxed atomic operation, callable from any thread.
/// Handles stay valid for the registry's lifetime. Names follow Prometheus conventions
/// (snake_case, base units, counters end in `_total`); label values are escaped on output.
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace flowex::telemetry::sdk {
class TracerProvider;
}
namespace flowex::telemetry::logs {
class BatchLogProcessor;
}

namespace flowex::telemetry::metrics {

class Counter {
public:
    /// `v` must be ≥ 0 (negative increments are ignored).
    void Inc(double v = 1.0) noexcept {
        if (v >= 0) {
            value_.fetch_add(v, std::memory_order_relaxed);
        }
    }
    double Value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<double> value_{0.0};
};

class Gauge {
public:
    void Set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
    void Inc(double v = 1.0) noexcept { value_.fetch_add(v, std::memory_order_relaxed); }
    void Dec(double v = 1.0) noexcept { value_.fetch_sub(v, std::memory_order_relaxed); }
    double Value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<double> value_{0.0};
};

class Histogram {
public:
    /// `bounds` are the upper bounds (sorted ascending; +Inf is implicit).
    explicit Histogram(const std::vector<double>& bounds);
    void Observe(double v) noexcept;
    const std::vector<double>& Bounds() const noexcept { return bounds_; }
    /// Non-cumulative count of bucket i (i == Bounds().size() is the +Inf overflow bucket).
    std::uint64_t BucketCount(std::size_t i) const noexcept {
        return counts_[i].load(std::memory_order_relaxed);
    }
    std::uint64_t Count() const noexcept { return count_.load(std::memory_order_relaxed); }
    double Sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
    std::atomic<std::uint64_t> count_{0};
    std::atomic<double> sum_{0.0};
};

/// The default buckets of the HTTP duration histograms (OpenTelemetry semantic conventions).
const std::vector<double>& DefaultDurationBuckets();

enum class MetricType : std::uint8_t { kCounter, kGauge, kHistogram };

/// A named metric with fixed label names and one child per label-value set.
template <class T>
class Family {
public:
    Family(std::string name, std::string help, std::vector<std::string> label_names,
           std::vector<double> bounds = {})
        : name_(std::move(name)),
          help_(std::move(help)),
          label_names_(std::move(label_names)),
          bounds_(std::move(bounds)) {}

    /// The child for these label values (in label-name order; missing values are ""). The
    /// reference is stable. Thread-safe.
    T& WithLabels(std::initializer_list<std::string_view> values) {
        std::vector<std::string> key(label_names_.size());
        std::size_t i = 0;
        for (std::string_view v : values) {
            if (i < key.size()) {
                key[i++] = std::string(v);
            }
        }
        return Child(std::move(key));
    }
    T& WithLabels(const std::vector<std::string>& values) {
        std::vector<std::string> key = values;
        key.resize(label_names_.size());
        return Child(std::move(key));
    }
    /// The child with no labels.
    T& Get() { return Child(std::vector<std::string>(label_names_.size())); }

    const std::string& Name() const noexcept { return name_; }
    const std::string& Help() const noexcept { return help_; }
    const std::vector<std::string>& LabelNames() const noexcept { return label_names_; }
    /// Calls `fn(label_values, child)` for every child, in label order, under the lock.
    template <class Fn>
    void ForEach(Fn&& fn) const {
        std::lock_guard lock(mutex_);
        for (const auto& [k, v] : children_) {
            fn(k, *v);
        }
    }

private:
    T& Child(std::vector<std::string> key) {
        std::lock_guard lock(mutex_);
        auto it = children_.find(key);
        if (it == children_.end()) {
            std::unique_ptr<T> child;
            if constexpr (std::is_same_v<T, Histogram>) {
                child = std::make_unique<T>(bounds_);
            } else {
                child = std::make_unique<T>();
            }
            it = children_.emplace(std::move(key), std::move(child)).first;
        }
        return *it->second;
    }

    std::string name_;
    std::string help_;
    std::vector<std::string> label_names_;
    std::vector<double> bounds_;
    mutable std::mutex mutex_;
    std::map<std::vector<std::string>, std::unique_ptr<T>> children_;
};

/// One sample produced by a callback metric.
struct CallbackSample {
    std::vector<std::pair<std::string, std::string>> labels;
    double value = 0;
};

class Registry {
public:
    /// Registering the same name twice returns the existing family (label names must match).
    Family<Counter>& AddCounter(std::string name, std::string help,
                                std::vector<std::string> label_names = {});
    Family<Gauge>& AddGauge(std::string name, std::string help,
                            std::vector<std::string> label_names = {});
    Family<Histogram>& AddHistogram(std::string name, std::string help,
                                    std::vector<std::string> label_names,
                                    std::vector<double> bounds = DefaultDurationBuckets());
    /// A counter or gauge whose samples are read at scrape time (must be cheap, thread-safe,
    /// and valid for as long as the registry is scraped).
    void AddCallback(std::string name, std::string help, MetricType type,
                     std::function<std::vector<CallbackSample>()> collect);

    /// The Prometheus text exposition of every metric, in registration order.
    std::string Render() const;

    /// The process-wide registry.
    static Registry& Default();

private:
    struct Entry {
        MetricType type;
        std::string name;
        std::unique_ptr<Family<Counter>> counter;
        std::unique_ptr<Family<Gauge>> gauge;
        std::unique_ptr<Family<Histogram>> histogram;
        std::string help;
        std::function<std::vector<CallbackSample>()> collect;
    };
    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<Entry>> entries_;
};

/// `process_cpu_seconds_total`, `process_resident_memory_bytes`,
/// `process_virtual_memory_bytes`, `process_start_time_seconds`, `process_open_fds` (Linux
/// /proc). Idempotent.
void RegisterProcessMetrics(Registry& registry);

/// The tracing SDK's own metrics (names documented in the header comment of docs and here):
///   otel_sdk_spans_started_total          recording spans started
///   otel_sdk_spans_exported_total         spans successfully exported
///   otel_sdk_spans_dropped_total          spans dropped because the queue was full
///   otel_sdk_spans_export_failed_total    spans in exports that failed
///   otel_sdk_span_export_failures_total   failed export calls
///   otel_sdk_span_queue_size              spans waiting in the batch queue
///   otel_sdk_span_queue_capacity          the queue's capacity
///   otel_sdk_logs_exported_total / otel_sdk_logs_dropped_total /
///   otel_sdk_log_export_failures_total /
///   otel_sdk_log_queue_size / otel_sdk_log_queue_capacity
///                                         the same for OTLP logs (when `logs` is given)
/// `provider` (and `logs`) must outlive every scrape of `registry`.
void RegisterSdkMetrics(Registry& registry, const sdk::TracerProvider& provider,
                        const logs::BatchLogProcessor* logs = nullptr);

/// The HTTP server duration histogram of DESIGN §7: `http_server_request_duration_seconds`
/// with labels method, route, status.
Family<Histogram>& HttpServerDuration(Registry& registry = Registry::Default());

}  // namespace flowex::telemetry::metrics
