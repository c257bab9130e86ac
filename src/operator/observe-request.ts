// One log line and the metrics for every webhook request: trigger, outcome, status, duration,
// correlation ID and traceparent — never the body, the headers that carry secrets, or the URL path
// (a capability).
import type { RequestReport } from '../receiver/middleware/respond-with-errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics, SignatureFailureReason } from '../observability/metrics.ts';
import type { VerificationFailure } from '../triggers/signature-verifiers/index.ts';

// The verifiers name failures for callers; the metric groups them for alerting (a wrong signature
// and a wrong token are both a mismatch: the sender holds the wrong secret).
const METRIC_REASONS: Readonly<Record<VerificationFailure, SignatureFailureReason>> = {
  missing_signature: 'missing_signature',
  missing_token: 'missing_signature',
  malformed_signature: 'malformed_signature',
  missing_timestamp: 'missing_timestamp',
  stale_timestamp: 'stale_timestamp',
  invalid_signature: 'mismatch',
  invalid_token: 'mismatch',
};

function metricReasonOf(failure: string | undefined): SignatureFailureReason | undefined {
  return failure !== undefined && Object.hasOwn(METRIC_REASONS, failure) ? METRIC_REASONS[failure as VerificationFailure] : undefined;
}

export function observeRequest(deps: { metrics: Metrics; logger: Logger }) {
  return (report: RequestReport): void => {
    const { ctx, status, outcome, durationSeconds } = report;
    const route = ctx.state.route;
    deps.metrics.webhookRequestDuration.observe({ outcome }, durationSeconds);
    if (route && outcome !== 'not_found') {
      deps.metrics.webhookRequests.inc({ namespace: route.namespace, trigger: route.name, outcome });
      for (const run of ctx.state.pipelineRuns ?? []) {
        if (run.created) deps.metrics.pipelineRunsCreated.inc({ namespace: route.namespace, pipeline: run.pipeline, trigger: route.name });
      }
      const reason = metricReasonOf(ctx.state.failureReason);
      if (reason) deps.metrics.signatureFailures.inc({ namespace: route.namespace, trigger: route.name, reason });
    } else {
      deps.metrics.webhookRequests.inc({ namespace: '', trigger: '', outcome: 'not_found' });
    }
    const line = {
      namespace: route?.namespace,
      trigger: route?.name,
      method: ctx.method,
      status,
      outcome,
      correlationId: ctx.state.correlationId,
      pipelineRun: ctx.state.pipelineRun?.name,
      traceparent: ctx.state.traceparent,
      durationMs: Math.round(durationSeconds * 1000 * 10) / 10,
      // The logger's own `error` serializer reduces it to name, message, status and reason;
      // serializing here as well made pino see a plain object and log "[object Object]".
      ...(report.error !== undefined ? { error: report.error } : {}),
    };
    if (report.error !== undefined) deps.logger.warn(line, 'webhook request failed');
    else deps.logger.info(line, 'webhook request');
  };
}
