// Loads a workflow history saved as JSON (`temporal workflow show --output json`) for Worker.runReplayHistory.
//
// The SDK's own historyFromJSON cannot be used in this install: @temporalio/common and @temporalio/proto each
// carry a copy of protobufjs 8 (the root holds protobufjs 7 for @grpc), and the JSON reader of common's copy
// refuses the History type of proto's copy ("type must be a Type"). So the JSON is read with the reader of the
// same protobufjs copy that @temporalio/proto was built with, whatever the install layout.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import type * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

type History = proto.temporal.api.history.v1.History;

const require = createRequire(import.meta.url);
const root = require('@temporalio/proto') as Record<string, unknown>; // the CommonJS root itself, not an ES-module wrapper of it
const { fromJson } = createRequire(require.resolve('@temporalio/proto'))('protobufjs/ext/protojson') as {
  fromJson: (type: unknown, json: unknown, opts?: object) => unknown;
};
const historyType = (patchProtobufRoot(root) as { lookupType(name: string): unknown }).lookupType('temporal.api.history.v1.History');

export function loadHistory(path: string): History {
  return fromJson(historyType, JSON.parse(readFileSync(path, 'utf8')), { ignoreUnknownFields: true }) as History;
}
