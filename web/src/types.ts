// Jaeger query API v1 JSON shapes (jaeger model/json + the query service's structured
// response), and the SPM metrics shape. The UI reads only these for what Jaeger has.

export type TagType = 'string' | 'bool' | 'int64' | 'float64' | 'binary';

export interface KeyValue {
  key: string;
  type?: TagType;
  value: string | number | boolean;
}

export interface Reference {
  refType: 'CHILD_OF' | 'FOLLOWS_FROM';
  traceID: string;
  spanID: string;
}

export interface SpanLog {
  timestamp: number; // µs since epoch
  fields: KeyValue[];
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  flags?: number;
  operationName: string;
  references?: Reference[] | null;
  startTime: number; // µs since epoch
  duration: number; // µs
  tags?: KeyValue[] | null;
  logs?: SpanLog[] | null;
  processID: string;
  warnings?: string[] | null;
}

export interface JaegerProcess {
  serviceName: string;
  tags?: KeyValue[] | null;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, JaegerProcess>;
  warnings?: string[] | null;
}

export interface StructuredError {
  code?: number;
  msg: string;
  traceID?: string;
}

export interface JaegerResponse<T> {
  data: T;
  total?: number;
  limit?: number;
  offset?: number;
  errors?: StructuredError[] | null;
}

export interface DependencyLink {
  parent: string;
  child: string;
  callCount: number;
  source?: string;
}

export interface Operation {
  name: string;
  spanKind?: string;
}

// Service Performance Monitoring (Jaeger's /api/metrics/*): a metric family.
export interface MetricPoint {
  gaugeValue?: { doubleValue?: number };
  timestamp: string; // RFC 3339
}

export interface Metric {
  labels: { name: string; value: string }[];
  metricPoints: MetricPoint[];
}

export interface MetricFamily {
  name: string;
  type?: string;
  help?: string;
  metrics: Metric[];
}

// flowex extras.
export interface LogRecord {
  timestamp: number | string; // µs since epoch (or RFC 3339 / ns tolerated)
  severity?: string;
  body?: string;
  attributes?: Record<string, unknown> | KeyValue[];
  spanID?: string;
  service?: string;
}
