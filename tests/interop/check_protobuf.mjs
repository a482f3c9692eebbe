// Decodes flowex's OTLP protobuf export with the decoder generated from the official .proto
// files that ships in @opentelemetry/otlp-transformer@0.52.1 and compares it with what the
// C++ SDK recorded in-process. Usage: node check_protobuf.mjs <dir with traces.pb, expected.json>
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { compare, flatten, readExpected } from './common.mjs';

const require = createRequire(import.meta.url);
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
const version = require('@opentelemetry/otlp-transformer/package.json').version;
if (version !== '0.52.1') throw new Error(`expected otlp-transformer 0.52.1, found ${version}`);

const dir = process.argv[2];
const Request = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
const bytes = readFileSync(`${dir}/traces.pb`);
const message = Request.decode(bytes);
const err = Request.verify(message);
if (err) throw new Error(`decoded message does not verify: ${err}`);
const obj = Request.toObject(message, { longs: String, enums: Number, bytes: String, oneofs: true });
const hex = (b64) => Buffer.from(b64, 'base64').toString('hex');
const which = (v) => v.value;  // protobufjs names the set oneof member
const actual = flatten(obj.resourceSpans, hex, which);
compare(actual, readExpected(dir), `protobuf (${bytes.length} bytes, otlp-transformer ${version})`);
