/**
 * Typed errors of the telemetry module. Codes are `TELEMETRY_<REASON>`; callers
 * branch on `instanceof` inside this module and on `code` at boundaries.
 */
import { CodedError } from '../base/index.ts';
export class TelemetryError extends CodedError {}

/** Options passed to a telemetry factory are invalid (names the option). */
export class TelemetryConfigError extends TelemetryError {
  constructor(message: string, options?: ErrorOptions) {
    super('TELEMETRY_CONFIG', message, options);
  }
}

/** The span file cannot be opened or written. */
export class SpanFileError extends TelemetryError {
  constructor(message: string, options?: ErrorOptions) {
    super('TELEMETRY_SPAN_FILE', message, options);
  }
}

/** A line of a span file is not a valid span record (names the line number). */
export class SpanRecordError extends TelemetryError {
  constructor(message: string, options?: ErrorOptions) {
    super('TELEMETRY_SPAN_RECORD', message, options);
  }
}

/** The metrics HTTP server could not listen (names host and port). */
export class MetricsServerError extends TelemetryError {
  constructor(message: string, options?: ErrorOptions) {
    super('TELEMETRY_METRICS_SERVER', message, options);
  }
}

/** A `traceparent` string is not a valid W3C trace context header. */
export class TraceparentError extends TelemetryError {
  constructor(message: string, options?: ErrorOptions) {
    super('TELEMETRY_TRACEPARENT', message, options);
  }
}

