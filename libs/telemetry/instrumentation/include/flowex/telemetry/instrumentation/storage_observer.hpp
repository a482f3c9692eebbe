#pragma once
/// Telemetry for libs/storage (target flowex_telemetry_storage): a DbObserver that turns every
/// PostgreSQL query into a CLIENT span `{OPERATION} {table}` and every Redis command into a
/// CLIENT span `{OPERATION}` (PUBLISH: PRODUCER `publish_event` with `channel`), with the
/// attributes listed in instrumentation.hpp. Failures: status ERROR, error.type (SQLSTATE,
/// "timeout", …) and an `exception` event. Never records parameter values.
///
///     pool.SetObserver(telemetry::StorageObserver(tracer));
#include <memory>

#include "flowex/storage/observer.hpp"
#include "flowex/telemetry/api/trace.hpp"

namespace flowex::telemetry {

std::shared_ptr<storage::DbObserver> StorageObserver(Tracer tracer);

}  // namespace flowex::telemetry
