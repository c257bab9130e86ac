// One log line and the metrics for every webhook request: trigger, outcome, status, duration and
// correlation ID — never the body, the headers that carry secrets, or the URL path (a capability).
import type { RequestReport } from '../receiver/middleware/respond-with-errors.ts';
import type { DeliveryStatusRecorder } from '../receiver/delivery-status-recorder.ts';
import type { Logger } from '../observability/logger.ts';
import { SIGNATURE_FAILURE_REASONS, type Metrics, type SignatureFailureReason } from '../observability/metrics.ts';
import { serializeError } from '../observability/logger.ts';

export function observeRequest(deps: { metrics: Metrics; logger: Logger; recorder: DeliveryStatusRecorder }) {
  return (report: RequestReport): void => {
    const { ctx, status, outcome, durationSeconds } = report;
    const route = ctx.state.route;
    deps.metrics.webhookRequestDuration.observe({ outcome }, durationSeconds);
    if (route && outcome !== 'not_found') {
      deps.metrics.webhookRequests.inc({ namespace: route.namespace, trigger: route.name, outcome });
      if (outcome !== 'method_not_allowed' && outcome !== 'error') deps.recorder.record(route.namespace, route.name, outcome, ctx.state.correlationId);
      if (outcome === 'accepted') deps.metrics.pipelineRunsCreated.inc({ namespace: route.namespace, pipeline: route.pipelineName, trigger: route.name });
      const reason = ctx.state.failureReason;
      if (reason && (SIGNATURE_FAILURE_REASONS as readonly string[]).includes(reason)) {
        deps.metrics.signatureFailures.inc({ namespace: route.namespace, trigger: route.name, reason: reason as SignatureFailureReason });
      }
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
      durationMs: Math.round(durationSeconds * 1000 * 10) / 10,
      ...(report.error !== undefined ? { error: serializeError(report.error) } : {}),
    };
    if (report.error !== undefined) deps.logger.warn(line, 'webhook request failed');
    else deps.logger.info(line, 'webhook request');
  };
}
