/**
 * A failure, told the way fast-check's RunDetailsFormatter and TigerBeetle's VOPR tell it:
 * the invariant and claim broken, the scenario in words, the violation with the trace around
 * it in tcpdump style. The caller adds `{ seed, path }` and the replay command, which only
 * fast-check knows.
 */
import { formatTrace, type TraceEvent } from '../world/trace.js';
import { describeRunSpec, type RunSpec } from '../scenario/spec.js';
import type { Violation } from './monitor.js';

/** How many trace lines to show before a violation. */
export const CONTEXT_LINES = 24;

export function formatViolation(violation: Violation): string {
  const where = violation.connId >= 0 ? `, connection #${violation.connId} incarnation ${violation.incarnation}` : '';
  return `${violation.monitor} (${violation.claims.join(', ')}) violated at ${violation.atUs} us (event ${violation.eventIndex}${where}): ${violation.message}`;
}

/** The trace lines leading up to an event, the event itself marked `>>`. */
export function traceAround(events: readonly TraceEvent[], eventIndex: number, before = CONTEXT_LINES): string {
  const last = eventIndex < 0 ? events.length - 1 : Math.min(eventIndex, events.length - 1);
  const first = Math.max(0, last - before);
  // Render from the start so tcpdump's relative sequence numbers have their bases.
  const rendered = formatTrace(events.slice(0, last + 1));
  const lines: string[] = [];
  for (let i = first; i <= last; i++) lines.push(`${i === eventIndex ? '>>' : '  '} ${rendered[i]!}`);
  return lines.join('\n');
}

export function formatFailure(spec: RunSpec, violations: readonly Violation[], events?: readonly TraceEvent[]): string {
  const first = violations[0]!;
  const parts = [`Invariant broken: ${formatViolation(first)}`];
  for (const other of violations.slice(1)) parts.push(`Also broken: ${formatViolation(other)}`);
  parts.push('', 'Scenario:', describeRunSpec(spec));
  if (events !== undefined) parts.push('', 'Trace up to the violation:', traceAround(events, first.eventIndex));
  return parts.join('\n');
}
