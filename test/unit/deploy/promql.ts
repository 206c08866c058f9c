/**
 * Test helper: parses PromQL with Prometheus' own grammar
 * (@prometheus-io/lezer-promql) and returns syntax errors and the metric names
 * an expression selects.
 */
import { parser } from '@prometheus-io/lezer-promql';

export interface PromqlInfo {
  /** Offsets of syntax errors (empty when the expression parses). */
  errors: number[];
  /** Metric names used in vector selectors (`foo{...}`), plus `__name__="..."` matchers. */
  metrics: string[];
}

export function inspectPromql(expr: string): PromqlInfo {
  const tree = parser.parse(expr);
  const errors: number[] = [];
  const metrics: string[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) errors.push(node.from);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') metrics.push(expr.slice(node.from, node.to));
      if (node.name === 'UnquotedLabelMatcher') {
        const m = /^__name__\s*=\s*"([^"]+)"$/.exec(expr.slice(node.from, node.to));
        if (m) metrics.push(m[1]!);
      }
    },
  });
  return { errors, metrics };
}

/** Replaces Grafana template variables with values PromQL accepts. */
export function expandGrafanaVars(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '5m')
    .replaceAll('$__interval', '1m')
    .replaceAll('$__range', '1h')
    .replace(/\$\{?region\}?/g, 'a');
}
