/**
 * `timewait check FILE.pcap`: the monitors on a real capture. The capture is read
 * (src/report/pcap-read.ts), turned into a trace with the states the wire shows
 * (wire-trace.ts), and fed to every monitor that can judge from segments alone. Violations
 * are told as the simulator's failures are, with Wireshark's frame numbers.
 */
import { createMonitors, MonitorSet, type Violation } from '../check/index.js';
import { formatViolation } from '../check/report.js';
import { readCapture, type Capture } from '../report/pcap-read.js';
import { TcpdumpFormatter, formatEvent, formatTimeUs, type TraceEvent } from '../world/trace.js';
import { LINUX_TIME_WAIT_US, wireTrace, type WireConnection, type WireTrace } from './wire-trace.js';

/**
 * Monitors that judge from the wire: sequence numbers, TIME-WAIT as far as a capture shows it,
 * incarnations. The others need what a capture does not hold: socket calls (bind-in-use, abort,
 * stream) or the endpoint's own state changes (legal-transitions, and termination, which needs
 * to know the run went quiet). close-shape is left out too: its "a prompt close takes three
 * segments" is the simulator's delayed-ACK rule, and real Linux broke it on loopback (it ACKed a
 * FIN on its own 1–5 ms before a prompt close; docs/kernel-differences.md), so on a real capture
 * it is a false alarm. Black-box monitors that need no calls join them (wireJudgedMonitors).
 */
export const WIRE_MONITORS: readonly string[] = ['syn-ack', 'fin-ack', 'seq-space', 'time-wait-2msl', 'time-wait-side', 'no-stale-segment'];
/**
 * The monitors run on a capture: the list above (they judge from the states wire-trace.ts
 * infers), and every black-box monitor (issue #14's flag) that reads neither socket calls nor
 * host events, which a capture does not hold.
 */
export function wireJudgedMonitors(): string[] {
  const context = { mslUs: 1, expectedTimeWaitUs: 2, delayedAckUs: 0, cleanNetwork: true, staleSegmentsImpossible: true };
  const names = new Set(WIRE_MONITORS);
  for (const m of createMonitors(context)) {
    const interests = m.interests ?? [];
    if (m.blackBox && m.interests !== undefined && !interests.includes('call') && !interests.includes('host')) names.add(m.name);
  }
  return [...names];
}

/** Run on a capture only when asked (`--close-shape`): it judges the simulator's delayed-ACK rule. */
export const OPTIONAL_WIRE_MONITORS: readonly string[] = ['close-shape'];

/** Linux's TCP_DELACK_MIN, the delayed-ACK timeout on loopback and short paths (close-shape). */
export const LINUX_DELAYED_ACK_US = 40_000;

export interface CaptureCheckOptions {
  readonly timeWaitUs?: number;
  readonly delayedAckUs?: number;
  /** Also judge the close shape (three segments for a prompt close), as the simulator promises it. */
  readonly closeShape?: boolean;
}

export interface FrameViolation extends Violation {
  /** Wireshark's frame number of the packet where it was seen (-1 at the end of the capture). */
  readonly frame: number;
}

export interface CaptureCheck {
  readonly capture: Capture;
  readonly trace: WireTrace;
  /** Connections judged, and those left out with the reason. */
  readonly judged: readonly WireConnection[];
  readonly notJudged: readonly { readonly connection: WireConnection; readonly why: string }[];
  /** Why the capture as a whole cannot be judged (empty when it can). */
  readonly cannotJudge: readonly string[];
  /** Remarks that do not stop judging (payload cut by the snapshot length, …). */
  readonly notes: readonly string[];
  readonly monitors: readonly string[];
  /** The events the monitors saw, and each one's frame. */
  readonly events: readonly TraceEvent[];
  readonly frameOfEvent: readonly number[];
  readonly violations: readonly FrameViolation[];
}

/** Read and judge a capture; throws CaptureFormatError when the bytes are no capture. */
export function checkCapture(bytes: Uint8Array, options: CaptureCheckOptions = {}): CaptureCheck {
  const capture = readCapture(bytes);
  const timeWaitUs = options.timeWaitUs ?? LINUX_TIME_WAIT_US;
  const trace = wireTrace(capture.tcp, { timeWaitUs });
  const cannotJudge: string[] = [];
  const notes: string[] = [];
  const headerCut = capture.truncatedFrames.filter((frame) => !capture.tcp.some((p) => p.frame === frame));
  if (headerCut.length > 0) cannotJudge.push(`${headerCut.length} frame(s) cut before the end of their TCP header (${listFrames(headerCut)}): a missing segment would be read as one never sent`);
  const payloadCut = capture.truncatedFrames.length - headerCut.length;
  if (payloadCut > 0) notes.push(`${payloadCut} frame(s) have payload cut by the snapshot length; headers are complete, lengths come from the IP header`);
  if (capture.tcp.length === 0) cannotJudge.push(capture.frames === 0 ? 'the capture holds no packets' : `no TCP segment among its ${capture.frames} frame(s)`);
  const duplicatedOnCooked = capture.tcp.some((p) => p.sllPacketType === 4) && capture.tcp.some((p) => p.sllPacketType === 0);
  if (duplicatedOnCooked) notes.push('a cooked capture with both outgoing and incoming copies (an "any" interface seeing loopback twice?): copies read as retransmissions');
  const notJudged: { connection: WireConnection; why: string }[] = [];
  const judged: WireConnection[] = [];
  for (const connection of trace.connections) {
    if (connection.fromClient === 0 || connection.fromServer === 0) notJudged.push({ connection, why: 'one direction only (the capture saw one side\'s segments, or the peer never answered)' });
    else judged.push(connection);
  }
  if (capture.tcp.length > 0 && judged.length === 0) cannotJudge.push('no connection shows both directions: the monitors compare what each side sent with what the other acknowledged');
  const left = new Set<number>();
  for (const { connection } of notJudged) {
    left.add(connection.client.connId);
    left.add(connection.server.connId);
  }
  const events: TraceEvent[] = [];
  const frameOfEvent: number[] = [];
  trace.events.forEach((event, i) => {
    if (left.has(connIdOf(event))) return;
    events.push(event);
    frameOfEvent.push(trace.frameOfEvent[i]!);
  });
  const only = new Set([...wireJudgedMonitors(), ...(options.closeShape === true ? OPTIONAL_WIRE_MONITORS : [])]);
  const context = { mslUs: timeWaitUs / 2, expectedTimeWaitUs: timeWaitUs, delayedAckUs: options.delayedAckUs ?? LINUX_DELAYED_ACK_US, cleanNetwork: trace.cleanNetwork, staleSegmentsImpossible: true };
  const set = new MonitorSet(createMonitors(context, only));
  const violations: FrameViolation[] = [];
  if (cannotJudge.length === 0) {
    for (const event of events) set.onEvent(event);
    set.atEnd({ atUs: trace.endUs, stoppedBy: 'end of capture', eventCount: events.length });
    for (const v of set.violations()) violations.push({ ...v, frame: v.eventIndex >= 0 ? frameOfEvent[v.eventIndex]! : -1 });
  }
  return { capture, trace, judged, notJudged, cannotJudge, notes, monitors: set.monitors.map((m) => m.name), events, frameOfEvent, violations };
}

function connIdOf(event: TraceEvent): number {
  switch (event.type) {
    case 'segment':
      return event.seg.connId;
    case 'state':
    case 'accepted':
    case 'time-wait-restart':
    case 'timer':
      return event.conn.connId;
    default:
      return -1;
  }
}

function listFrames(frames: readonly number[]): string {
  return frames.length <= 5 ? `frame${frames.length > 1 ? 's' : ''} ${frames.join(', ')}` : `frames ${frames.slice(0, 5).join(', ')}, …`;
}

const LINK_NAMES: Record<number, string> = { 0: 'BSD loopback', 1: 'Ethernet', 101: 'raw IP', 113: 'Linux cooked', 228: 'raw IPv4', 229: 'raw IPv6', 276: 'Linux cooked v2' };

/** The report `timewait check` prints. */
export function formatCaptureCheck(name: string, check: CaptureCheck): string {
  const { capture, trace } = check;
  const links = [...new Set(capture.linkTypes)].map((t) => LINK_NAMES[t] ?? `link type ${t}`).join(', ');
  const lines: string[] = [];
  lines.push(`# capture ${name}: ${capture.format}, ${links}, ${capture.frames} frame(s), ${capture.tcp.length} TCP segment(s)${capture.otherFrames > 0 ? `, ${capture.otherFrames} other (${[...capture.skipped].map(([why, n]) => `${n} ${why}`).join(', ')})` : ''}`);
  const incarnations = trace.connections.length;
  const tuples = new Set(trace.connections.map((c) => c.tuple.split(' <-> ').sort().join('|'))).size;
  lines.push(`# ${tuples} 4-tuple(s), ${incarnations} incarnation(s); ${trace.cleanNetwork ? 'no retransmission seen' : 'retransmissions seen'}`);
  for (const c of trace.connections) {
    lines.push(`#   ${c.tuple} inc ${c.incarnation}: frames ${c.firstFrame}-${c.lastFrame}, ${c.fromClient} from the ${c.midStream ? 'first sender' : 'client'}, ${c.fromServer} from the ${c.midStream ? 'other side' : 'server'}${c.midStream ? ' (began before the capture)' : ''}`);
  }
  for (const { connection, why } of check.notJudged) lines.push(`# not judged: ${connection.tuple} inc ${connection.incarnation}: ${why}`);
  for (const note of check.notes) lines.push(`# note: ${note}`);
  if (check.cannotJudge.length > 0) {
    for (const why of check.cannotJudge) lines.push(`# cannot judge: ${why}`);
    lines.push('# result: cannot judge');
    return `${lines.join('\n')}\n`;
  }
  lines.push(`# monitors: ${check.monitors.join(', ')} (the others need socket calls or the endpoint's own states)`);
  for (const v of check.violations) {
    lines.push('', `FAIL ${v.frame >= 0 ? `frame ${v.frame}` : 'end of capture'}: ${formatViolation(v)}`, 'Trace up to the violation (inferred states marked #):', traceWithFrames(check, v.eventIndex));
  }
  lines.push('', check.violations.length === 0 ? '# result: pass (no violation)' : `# result: FAIL (${check.violations.length} violation${check.violations.length > 1 ? 's' : ''})`);
  return `${lines.join('\n')}\n`;
}

/** The trace lines before an event, each with its frame number; deliveries (the same packet again) left out. */
export function traceWithFrames(check: CaptureCheck, eventIndex: number, before = 16): string {
  const formatter = new TcpdumpFormatter();
  const last = eventIndex < 0 ? check.events.length - 1 : eventIndex;
  const rendered: { index: number; line: string }[] = [];
  for (let i = 0; i <= last; i++) {
    const event = check.events[i]!;
    if (event.type === 'segment' && event.fate !== 'sent') continue;
    const frame = `frame ${String(check.frameOfEvent[i]).padStart(4)}`;
    const line = event.type === 'segment' ? `${frame} ${formatTimeUs(event.atUs)} ${formatter.formatSegment(event.seg)}` : `${' '.repeat(frame.length)} ${event.type === 'state' || event.type === 'accepted' || event.type === 'time-wait-restart' ? formatEvent(event) : formatEvent(event)}`;
    rendered.push({ index: i, line });
  }
  return rendered
    .slice(-before)
    .map((r) => `${r.index === eventIndex ? '>>' : '  '} ${r.line}`)
    .join('\n');
}
