/**
 * Ladder (sequence) diagrams of a run: one lifeline per endpoint, time flowing down, one arrow
 * per segment from its send to its delivery, labelled as tcpdump would with sequence numbers
 * relative to each direction's ISN. Two renderings of one model:
 * - `ladderSvg`: a self-contained SVG (no fonts, scripts or links outside it);
 * - `ladderText`: the same information in columns, for terminals and test expectations.
 *
 * Only reads the trace (STYLE.md: report never reaches into sim, net or tcp state). Layout is a
 * pure function of the events, so the same run always draws the same bytes.
 */
import { formatIpv4 } from '../net/address.js';
import { ACK, FIN, RST, SYN, formatSegment, tcpdumpFlags, type Segment } from '../tcp/segment.js';
import { formatTimeUs, type TraceEvent } from '../world/trace.js';
import type { FateOutcome } from './pcap.js';

export interface ViolationMarker {
  readonly atUs: number;
  readonly label: string;
}

export interface LadderOptions {
  /**
   * `endpoint`: one lifeline per address and port. `host`: one per host, arrows and states
   * tagged with ports. `auto` (default): per endpoint unless some host uses several ports.
   */
  readonly lifelines?: 'auto' | 'endpoint' | 'host';
  /** Drawn as a red band where it happened (a monitor's failure, say). */
  readonly violation?: ViolationMarker;
  readonly title?: string;
  /** Idle gaps at least this long are cut short and marked with a break (default 1 s). */
  readonly breakGapUs?: number;
  /** The TIME-WAIT length to print when the trace ends before a TIME-WAIT does. */
  readonly timeWaitUs?: number;
}

/** An SVG ladder diagram of the run's segments and state changes. */
export function ladderSvg(events: readonly TraceEvent[], options: LadderOptions = {}): string {
  return renderSvg(buildLadder(events, options), options);
}

/** The same diagram as plain text, one line per send, state change, break or violation. */
export function ladderText(events: readonly TraceEvent[], options: LadderOptions = {}): string {
  return renderText(buildLadder(events, options), options);
}

// -----------------------------------------------------------------------------------------
// The model
// -----------------------------------------------------------------------------------------

export interface Lane {
  /** `client:44722` per endpoint, `client` per host. */
  readonly name: string;
  /** `10.0.0.1`. */
  readonly address: string;
}

export type ArrowStyle = 'normal' | 'retransmission' | 'duplicate' | 'old-duplicate';

export interface Arrow {
  readonly id: number;
  readonly copyOf: number;
  readonly from: number;
  readonly to: number;
  /** tcpdump-like, relative numbers: `[P.] seq 1:1001 ack 1 len 1000`. */
  readonly label: string;
  /** The absolute tcpdump line, for tooltips. */
  readonly detail: string;
  readonly style: ArrowStyle;
  readonly sentAtUs: number;
  outcome: FateOutcome;
  readonly delays: string[];
}

export type Row =
  | { readonly kind: 'send'; readonly atUs: number; readonly arrow: Arrow }
  | { readonly kind: 'arrive'; readonly atUs: number; readonly arrow: Arrow }
  | { readonly kind: 'drop'; readonly atUs: number; readonly arrow: Arrow }
  | { readonly kind: 'state'; readonly atUs: number; readonly lane: number; readonly text: string; readonly cause: string }
  | { readonly kind: 'note'; readonly atUs: number; readonly lanes: readonly number[]; readonly text: string }
  | { readonly kind: 'violation'; readonly atUs: number; readonly label: string };

/** A TIME-WAIT from the state change into it to the one out of it (null: still there at the end). */
export interface TimeWaitSpan {
  readonly lane: number;
  readonly enter: Row;
  exit: Row | null;
  /** `TIME-WAIT, 2·MSL = 60 s`. */
  label: string;
}

export interface Ladder {
  readonly mode: 'endpoint' | 'host';
  readonly lanes: readonly Lane[];
  readonly rows: readonly Row[];
  readonly spans: readonly TimeWaitSpan[];
}

const DEFAULT_BREAK_GAP_US = 1_000_000;

/** Lanes, rows in trace order (a violation where its time falls) and TIME-WAIT spans. */
export function buildLadder(events: readonly TraceEvent[], options: LadderOptions = {}): Ladder {
  const names = hostNames(events);
  const endpoints = endpointsInOrder(events, names.ipOfHost);
  const mode = options.lifelines === 'endpoint' || options.lifelines === 'host' ? options.lifelines : severalPortsOnAHost(endpoints) ? 'host' : 'endpoint';
  const laneKey = (ip: number, port: number): string => (mode === 'host' ? `${ip}` : `${ip}:${port}`);
  const lanes: Lane[] = [];
  const laneIndex = new Map<string, number>();
  for (const { ip, port } of endpoints) {
    const key = laneKey(ip, port);
    if (laneIndex.has(key)) continue;
    laneIndex.set(key, lanes.length);
    const host = names.hostOfIp.get(ip) ?? formatIpv4(ip);
    lanes.push({ name: mode === 'host' ? host : `${host}:${port}`, address: formatIpv4(ip) });
  }
  const laneOf = (ip: number, port: number): number => laneIndex.get(laneKey(ip, port))!;
  const incarnations = incarnationCounts(events);
  const numbering = new RelativeNumbering();

  const rows: Row[] = [];
  const spans: TimeWaitSpan[] = [];
  const arrows = new Map<number, Arrow>();
  const openSpans = new Map<number, { span: TimeWaitSpan; startUs: number; restarts: number; byTimer: boolean }>();

  const addArrow = (seg: Segment, atUs: number, copy: 'duplicate' | 'old-duplicate' | null): void => {
    const tags: string[] = [];
    if (seg.retransmission) tags.push('retx');
    if (copy !== null) tags.push(copy === 'duplicate' ? 'dup' : 'old dup');
    let label = numbering.label(seg);
    if (mode === 'host') label = `${seg.srcPort}>${seg.dstPort} ${label}`;
    if ((incarnations.get(tupleKey(seg)) ?? 0) > 1) label += ` inc ${seg.incarnation}`;
    if (tags.length > 0) label += ` (${tags.join(', ')})`;
    const arrow: Arrow = {
      id: seg.id,
      copyOf: seg.copyOf,
      from: laneOf(seg.srcIp, seg.srcPort),
      to: laneOf(seg.dstIp, seg.dstPort),
      label,
      detail: formatSegment(seg),
      style: copy ?? (seg.retransmission ? 'retransmission' : 'normal'),
      sentAtUs: atUs,
      outcome: { kind: 'in-flight' },
      delays: [],
    };
    arrows.set(seg.id, arrow);
    rows.push({ kind: 'send', atUs, arrow });
  };

  for (const event of events) {
    switch (event.type) {
      case 'segment': {
        if (event.fate === 'sent') {
          addArrow(event.seg, event.atUs, null);
        } else if (event.fate === 'duplicated') {
          addArrow(event.copy, event.atUs, event.why);
        } else {
          const arrow = arrows.get(event.seg.id);
          if (arrow === undefined) break;
          if (event.fate === 'delayed') {
            arrow.delays.push(`${event.why} +${formatDuration(event.extraUs)}`);
          } else if (event.fate === 'delivered') {
            arrow.outcome = { kind: 'delivered', atUs: event.atUs };
            rows.push({ kind: 'arrive', atUs: event.atUs, arrow });
          } else if (event.fate === 'dropped') {
            arrow.outcome = { kind: 'dropped', atUs: event.atUs, reason: event.reason };
            rows.push({ kind: 'drop', atUs: event.atUs, arrow });
          }
        }
        break;
      }
      case 'state': {
        const conn = event.conn;
        const lane = laneOf(conn.localIp, conn.localPort);
        let text: string = event.to;
        if (mode === 'host') text += ` ${conn.localPort}-${conn.remotePort}`;
        if ((incarnations.get(unorderedTuple(conn.localIp, conn.localPort, conn.remoteIp, conn.remotePort)) ?? 0) > 1) text += ` inc ${conn.incarnation}`;
        const row: Row = { kind: 'state', atUs: event.atUs, lane, text, cause: event.cause };
        rows.push(row);
        // One TIME-WAIT per connection at a time; keyed by connection id.
        const open = openSpans.get(conn.connId);
        if (open !== undefined && event.from === 'TIME-WAIT') {
          open.span.exit = row;
          open.span.label = timeWaitLabel(event.atUs - open.startUs, open.byTimer, open.restarts, event.cause, options.timeWaitUs);
          openSpans.delete(conn.connId);
        }
        if (event.to === 'TIME-WAIT') {
          const span: TimeWaitSpan = { lane, enter: row, exit: null, label: timeWaitLabel(null, false, 0, '', options.timeWaitUs) };
          spans.push(span);
          openSpans.set(conn.connId, { span, startUs: event.atUs, restarts: 0, byTimer: false });
        }
        break;
      }
      case 'listen': {
        const ip = names.ipOfHost.get(event.host);
        if (ip === undefined || !laneIndex.has(laneKey(ip, event.port))) break;
        const text = mode === 'host' ? `${event.to} ${event.port}` : event.to;
        rows.push({ kind: 'state', atUs: event.atUs, lane: laneOf(ip, event.port), text, cause: event.to === 'LISTEN' ? 'listen' : 'listener closed' });
        break;
      }
      case 'time-wait-restart': {
        const open = openSpans.get(event.conn.connId);
        if (open !== undefined) {
          open.startUs = event.atUs;
          open.restarts++;
        }
        rows.push({ kind: 'note', atUs: event.atUs, lanes: [laneOf(event.conn.localIp, event.conn.localPort)], text: 'TIME-WAIT restarted' });
        break;
      }
      case 'timer': {
        const open = openSpans.get(event.conn.connId);
        if (open !== undefined && event.timer === 'time-wait') open.byTimer = true;
        break;
      }
      case 'host': {
        const ip = names.ipOfHost.get(event.host);
        if (ip === undefined) break;
        const hostLanes: number[] = [];
        for (const { ip: laneIp, port } of endpoints) {
          const lane = laneOf(laneIp, port);
          if (laneIp === ip && !hostLanes.includes(lane)) hostLanes.push(lane);
        }
        if (hostLanes.length > 0) rows.push({ kind: 'note', atUs: event.atUs, lanes: hostLanes, text: event.event === 'crash' ? 'CRASH' : 'RESTART' });
        break;
      }
      case 'accepted':
      case 'call':
        break;
    }
  }

  const violation = options.violation;
  if (violation !== undefined) {
    // After everything that happened at or before it: a monitor fails on the event it just saw.
    let at = rows.length;
    while (at > 0 && rows[at - 1]!.atUs > violation.atUs) at--;
    rows.splice(at, 0, { kind: 'violation', atUs: violation.atUs, label: violation.label });
  }
  return { mode, lanes, rows, spans };
}

/** Sequence and acknowledgment numbers relative to each direction's ISN, per incarnation. */
class RelativeNumbering {
  private readonly bases = new Map<string, number>();

  label(seg: Segment): string {
    const key = directionKey(seg.srcIp, seg.srcPort, seg.dstIp, seg.dstPort, seg.incarnation);
    // The ISN is the SYN's sequence number; with no SYN seen (an RST from a closed port), the
    // first number seen in that direction, as Wireshark does.
    if (!this.bases.has(key)) this.bases.set(key, seg.seq);
    const len = seg.payload.length;
    const seq = (seg.seq - this.bases.get(key)!) >>> 0;
    let text = `[${tcpdumpFlags(seg.flags)}]`;
    // tcpdump prints seq for data and for SYN, FIN and RST; a pure ACK shows only its ack.
    if (len > 0 || seg.flags & (SYN | FIN | RST)) text += len > 0 ? ` seq ${seq}:${(seq + len) >>> 0}` : ` seq ${seq}`;
    if (seg.flags & ACK) {
      const reverse = this.bases.get(directionKey(seg.dstIp, seg.dstPort, seg.srcIp, seg.srcPort, seg.incarnation));
      text += ` ack ${reverse === undefined ? seg.ack : (seg.ack - reverse) >>> 0}`;
    }
    if (len > 0) text += ` len ${len}`;
    if (seg.window === 0 && !(seg.flags & RST)) text += ' win 0';
    return text;
  }
}

function directionKey(srcIp: number, srcPort: number, dstIp: number, dstPort: number, incarnation: number): string {
  return `${srcIp}:${srcPort}>${dstIp}:${dstPort}/${incarnation}`;
}

function unorderedTuple(ipA: number, portA: number, ipB: number, portB: number): string {
  return ipA < ipB || (ipA === ipB && portA <= portB) ? `${ipA}:${portA}-${ipB}:${portB}` : `${ipB}:${portB}-${ipA}:${portA}`;
}

function tupleKey(seg: Segment): string {
  return unorderedTuple(seg.srcIp, seg.srcPort, seg.dstIp, seg.dstPort);
}

/** How many incarnations each 4-tuple had: labels name the incarnation only when there were several. */
function incarnationCounts(events: readonly TraceEvent[]): Map<string, number> {
  const seen = new Map<string, Set<number>>();
  const note = (key: string, incarnation: number): void => {
    let set = seen.get(key);
    if (set === undefined) seen.set(key, (set = new Set()));
    set.add(incarnation);
  };
  for (const event of events) {
    if (event.type === 'segment' && event.fate === 'sent') note(tupleKey(event.seg), event.seg.incarnation);
    else if (event.type === 'state') note(unorderedTuple(event.conn.localIp, event.conn.localPort, event.conn.remoteIp, event.conn.remotePort), event.conn.incarnation);
  }
  return new Map([...seen].map(([key, set]) => [key, set.size]));
}

function hostNames(events: readonly TraceEvent[]): { hostOfIp: Map<number, string>; ipOfHost: Map<string, number> } {
  const hostOfIp = new Map<number, string>();
  const ipOfHost = new Map<string, number>();
  for (const event of events) {
    if (event.type === 'state' || event.type === 'accepted' || event.type === 'timer' || event.type === 'time-wait-restart') {
      hostOfIp.set(event.conn.localIp, event.conn.host);
      ipOfHost.set(event.conn.host, event.conn.localIp);
    }
  }
  return { hostOfIp, ipOfHost };
}

/** Endpoints in order of first appearance in a segment (the first sender is leftmost), then the rest. */
function endpointsInOrder(events: readonly TraceEvent[], ipOfHost: ReadonlyMap<string, number>): { ip: number; port: number }[] {
  const seen = new Set<string>();
  const out: { ip: number; port: number }[] = [];
  const add = (ip: number, port: number): void => {
    const key = `${ip}:${port}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ ip, port });
  };
  for (const event of events) {
    if (event.type !== 'segment' || (event.fate !== 'sent' && event.fate !== 'duplicated')) continue;
    add(event.seg.srcIp, event.seg.srcPort);
    add(event.seg.dstIp, event.seg.dstPort);
  }
  for (const event of events) {
    if (event.type === 'state') add(event.conn.localIp, event.conn.localPort);
    else if (event.type === 'listen') {
      const ip = ipOfHost.get(event.host);
      if (ip !== undefined) add(ip, event.port);
    }
  }
  return out;
}

function severalPortsOnAHost(endpoints: readonly { ip: number; port: number }[]): boolean {
  const ips = new Set<number>();
  for (const { ip } of endpoints) {
    if (ips.has(ip)) return true;
    ips.add(ip);
  }
  return false;
}

function timeWaitLabel(lengthUs: number | null, byTimer: boolean, restarts: number, cause: string, configuredUs: number | undefined): string {
  if (lengthUs === null) return configuredUs === undefined ? 'TIME-WAIT, still on at end of trace' : `TIME-WAIT, 2·MSL = ${formatDuration(configuredUs)}, still on at end of trace`;
  if (!byTimer) return `TIME-WAIT, ended after ${formatDuration(lengthUs)}: ${cause}`;
  return `TIME-WAIT, 2·MSL = ${formatDuration(lengthUs)}${restarts > 0 ? `, restarted ${restarts}x` : ''}`;
}

/** `60 s`, `1.5 s`, `200 ms`, `1.25 ms`, `40 us`. */
export function formatDuration(us: number): string {
  const trim = (value: number): string => String(Number(value.toFixed(3)));
  if (us >= 1_000_000) return `${trim(us / 1_000_000)} s`;
  if (us >= 1_000) return `${trim(us / 1_000)} ms`;
  return `${us} us`;
}

function fateText(arrow: Arrow): string {
  const outcome = arrow.outcome;
  let text = `#${arrow.id}`;
  if (arrow.copyOf >= 0) text += ` copy of #${arrow.copyOf}`;
  switch (outcome.kind) {
    case 'delivered':
      text += ` -> ${formatTimeUs(outcome.atUs)}`;
      break;
    case 'dropped':
      text += outcome.atUs === arrow.sentAtUs ? ` lost (${outcome.reason})` : ` dropped ${formatTimeUs(outcome.atUs)} (${outcome.reason})`;
      break;
    case 'in-flight':
      text += ' in flight at end';
      break;
  }
  if (arrow.delays.length > 0) text += `, ${arrow.delays.join(', ')}`;
  return text;
}

// -----------------------------------------------------------------------------------------
// Text
// -----------------------------------------------------------------------------------------

function renderText(ladder: Ladder, options: LadderOptions): string {
  const breakGapUs = options.breakGapUs ?? DEFAULT_BREAK_GAP_US;
  // Deliveries and drops are the fate column of their send's line.
  const rows = ladder.rows.filter((row) => row.kind !== 'arrive' && row.kind !== 'drop');
  const lanes = ladder.lanes;
  const stateTexts = rows.map((row) => (row.kind === 'state' ? stateLine(row, ladder, true) : row.kind === 'note' ? `(${row.text})` : ''));
  const maxState = Math.max(0, ...stateTexts.map((text) => text.length));
  const maxLabel = Math.max(0, ...rows.map((row) => (row.kind === 'send' ? row.arrow.label.length : 0)));
  const timeWidth = Math.max(4, ...rows.map((row) => formatTimeUs(row.atUs).length)) + 2;
  const laneWidth = Math.max(24, maxLabel + 8, maxState + 4, ...lanes.map((lane) => Math.max(lane.name.length, lane.address.length) + 2));
  const laneAt = (lane: number): number => timeWidth + lane * laneWidth;
  const lastLane = laneAt(Math.max(0, lanes.length - 1));
  const fateAt = lastLane + Math.max(maxState + 4, ...lanes.map((lane) => Math.max(lane.name.length, lane.address.length) + 2), 6);

  const indexOf = new Map<Row, number>(rows.map((row, i) => [row, i]));
  const spanRanges = ladder.spans.map((span) => ({ lane: span.lane, enter: indexOf.get(span.enter)!, exit: span.exit === null ? Infinity : indexOf.get(span.exit)! }));
  const spanOf = (index: number, lane: number): boolean => spanRanges.some((span) => span.lane === lane && span.enter <= index && index < span.exit);
  /** In TIME-WAIT through the gap just before line `index`. */
  const spanThrough = (index: number, lane: number): boolean => spanRanges.some((span) => span.lane === lane && span.enter < index && index <= span.exit);

  const lines: string[] = [];
  if (options.title !== undefined) lines.push(options.title, '');
  const header = new Line();
  const addresses = new Line();
  header.put(0, 'time');
  lanes.forEach((lane, i) => {
    header.put(laneAt(i), lane.name);
    addresses.put(laneAt(i), lane.address);
  });
  header.put(fateAt, 'fate');
  lines.push(header.text(), addresses.text());

  rows.forEach((row, index) => {
    const previous = rows[index - 1];
    if (previous !== undefined && row.atUs - previous.atUs >= breakGapUs) {
      const line = new Line();
      lanes.forEach((_, lane) => line.put(laneAt(lane), spanThrough(index, lane) ? '#' : '~'));
      line.put(fateAt, `~ ${formatDuration(row.atUs - previous.atUs)} later ~`);
      lines.push(line.text());
    }
    const line = new Line();
    line.put(0, formatTimeUs(row.atUs));
    if (row.kind !== 'violation') lanes.forEach((_, lane) => line.put(laneAt(lane), spanOf(index, lane) ? '#' : '|'));
    switch (row.kind) {
      case 'send':
        drawTextArrow(line, row.arrow, laneAt(row.arrow.from), laneAt(row.arrow.to));
        line.put(fateAt, fateText(row.arrow));
        break;
      case 'state':
      case 'note':
        for (const lane of row.kind === 'state' ? [row.lane] : row.lanes) line.put(laneAt(lane) + 2, stateTexts[index]!);
        break;
      case 'violation':
        line.put(timeWidth, `!!! VIOLATION: ${row.label} !!!`);
        break;
    }
    lines.push(line.text());
  });
  return lines.join('\n') + '\n';
}

function stateLine(row: Extract<Row, { kind: 'state' }>, ladder: Ladder, ascii: boolean): string {
  const span = ladder.spans.find((s) => s.enter === row);
  if (span === undefined) return row.text;
  const label = span.label.replace(/^TIME-WAIT, /, '');
  return `${row.text} (${ascii ? label.replace('2·MSL', '2MSL') : label})`;
}

/**
 * `|--[S] seq 0------------->|` rightwards, `|<------[S.] seq 0 ack 1--|` leftwards (label by
 * the sender), `=` for network copies, `X` mid-way for a lost segment, `?` when still in flight.
 */
function drawTextArrow(line: Line, arrow: Arrow, from: number, to: number): void {
  const fill = arrow.style === 'duplicate' || arrow.style === 'old-duplicate' ? '=' : '-';
  const label = arrow.label;
  if (from === to) {
    line.put(from + 2, `<> ${label}`);
    return;
  }
  const rightwards = from < to;
  const lost = arrow.outcome.kind === 'dropped';
  const head = lost ? 'X' : arrow.outcome.kind === 'in-flight' ? '?' : rightwards ? '>' : '<';
  if (rightwards) {
    const labelEnd = from + 3 + label.length;
    const end = lost ? Math.min(to - 1, Math.max(Math.floor((from + to) / 2), labelEnd + 2)) : to - 1;
    for (let x = from + 1; x < end; x++) line.put(x, fill);
    line.put(from + 3, label);
    line.put(end, head);
  } else {
    const labelStart = from - 2 - label.length;
    const end = lost ? Math.max(to + 1, Math.min(Math.ceil((from + to) / 2), labelStart - 3)) : to + 1;
    for (let x = end + 1; x < from; x++) line.put(x, fill);
    line.put(labelStart, label);
    line.put(end, head);
  }
}

/** A line of text written by column. */
class Line {
  private chars: string[] = [];

  put(column: number, text: string): void {
    while (this.chars.length < column) this.chars.push(' ');
    for (let i = 0; i < text.length; i++) this.chars[column + i] = text[i]!;
  }

  text(): string {
    return this.chars.join('').trimEnd();
  }
}

// -----------------------------------------------------------------------------------------
// SVG
// -----------------------------------------------------------------------------------------

const FONT = 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
/** Width of one character at 11 px in a monospace font (0.6 em), for sizing boxes. */
const CHAR_PX = 6.6;
const ROW_PX = 24;
const BREAK_PX = 40;
const TIME_COLUMN_PX = 100;
const MARGIN_PX = 120;
const RIGHT_MARGIN_PX = 260;
const HEADER_PX = 60;

const COLOR: Record<ArrowStyle, string> = {
  normal: '#1f4e79',
  retransmission: '#c0600a',
  duplicate: '#7d3c98',
  'old-duplicate': '#7d3c98',
};
const DASH: Record<ArrowStyle, string> = { normal: '', retransmission: '', duplicate: '6 3', 'old-duplicate': '2 3' };
const LOST_COLOR = '#c0392b';
const TIME_WAIT_FILL = '#f5b041';

function renderSvg(ladder: Ladder, options: LadderOptions): string {
  const breakGapUs = options.breakGapUs ?? DEFAULT_BREAK_GAP_US;
  const { lanes, rows } = ladder;
  const top = HEADER_PX + (options.title !== undefined ? 24 : 0);
  const maxLabelPx = Math.max(0, ...rows.map((row) => (row.kind === 'send' ? row.arrow.label.length * CHAR_PX : 0)));
  const laneGap = Math.max(280, Math.ceil(maxLabelPx + 80));
  const laneX = (lane: number): number => TIME_COLUMN_PX + MARGIN_PX + lane * laneGap;
  // Wide enough for the lanes, and for the title and any violation's label to be read whole.
  const textPx = Math.max(
    (options.title?.length ?? 0) * CHAR_PX * (13 / 11) + 20,
    ...rows.map((row) => (row.kind === 'violation' ? TIME_COLUMN_PX + 6 + `VIOLATION: ${row.label}`.length * CHAR_PX + 20 : 0)),
  );
  const width = Math.ceil(Math.max(laneX(Math.max(0, lanes.length - 1)) + RIGHT_MARGIN_PX, textPx));

  // Rows go down in trace order; time gaps add a little (log scale), long ones become breaks.
  const rowY: number[] = [];
  const breaks: { y0: number; y1: number; gapUs: number }[] = [];
  let y = top + ROW_PX;
  rows.forEach((row, i) => {
    const previous = rows[i - 1];
    if (previous !== undefined) {
      const gapUs = row.atUs - previous.atUs;
      if (gapUs >= breakGapUs) {
        breaks.push({ y0: y + ROW_PX / 2, y1: y + ROW_PX / 2 + BREAK_PX, gapUs });
        y += ROW_PX + BREAK_PX;
      } else {
        y += ROW_PX + (gapUs > 0 ? Math.min(24, 6 * Math.log10(1 + gapUs / 100)) : 0);
      }
    }
    rowY.push(y);
  });
  const bottom = y + ROW_PX * 1.5;
  const height = bottom + 44;
  const yOf = new Map<Row, number>(rows.map((row, i) => [row, rowY[i]!]));

  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${n(width)}" height="${n(height)}" viewBox="0 0 ${n(width)} ${n(height)}" font-family="${FONT}" font-size="11">`,
  );
  out.push(`<title>${esc(options.title ?? `Ladder diagram: ${lanes.map((l) => l.name).join(', ')}`)}</title>`);
  out.push('<defs>');
  for (const style of ['normal', 'retransmission', 'duplicate'] as const) {
    out.push(`<marker id="head-${style}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${COLOR[style]}"/></marker>`);
  }
  out.push('</defs>');
  out.push(`<rect x="0" y="0" width="${n(width)}" height="${n(height)}" fill="#ffffff"/>`);
  if (options.title !== undefined) out.push(`<text x="10" y="18" font-size="13" font-weight="bold">${esc(options.title)}</text>`);

  // Violation bands first, under everything.
  rows.forEach((row, i) => {
    if (row.kind !== 'violation') return;
    const ry = rowY[i]!;
    out.push(`<g class="violation"><title>${esc(`${formatTimeUs(row.atUs)} violation: ${row.label}`)}</title>`);
    out.push(`<rect x="0" y="${n(ry - ROW_PX / 2)}" width="${n(width)}" height="${ROW_PX}" fill="${LOST_COLOR}" fill-opacity="0.15"/>`);
    out.push(`<line x1="0" y1="${n(ry)}" x2="${n(width)}" y2="${n(ry)}" stroke="${LOST_COLOR}" stroke-width="1.5"/>`);
    out.push(`<text x="${TIME_COLUMN_PX + 6}" y="${n(ry - 3)}" fill="${LOST_COLOR}" font-weight="bold" ${HALO}>${esc(`VIOLATION: ${row.label}`)}</text></g>`);
  });

  // Lifelines and headers.
  lanes.forEach((lane, i) => {
    const x = laneX(i);
    const boxWidth = Math.max(lane.name.length, lane.address.length) * CHAR_PX + 16;
    out.push(`<line class="lifeline" x1="${n(x)}" y1="${top - 6}" x2="${n(x)}" y2="${n(bottom)}" stroke="#888888" stroke-width="1"/>`);
    out.push(`<rect x="${n(x - boxWidth / 2)}" y="${top - 46}" width="${n(boxWidth)}" height="40" rx="4" fill="#eef3f8" stroke="#1f4e79"/>`);
    out.push(`<text x="${n(x)}" y="${top - 29}" text-anchor="middle" font-weight="bold">${esc(lane.name)}</text>`);
    out.push(`<text x="${n(x)}" y="${top - 14}" text-anchor="middle" fill="#555555">${esc(lane.address)}</text>`);
  });

  // TIME-WAIT bars along their lifelines. Each label goes in the first break its bar crosses
  // (empty by construction; two labels fit in one), else beside the middle of the bar.
  const spanLabels: string[] = [];
  const placed = ladder.spans.map((span) => {
    const y0 = yOf.get(span.enter)!;
    const y1 = span.exit === null ? bottom : yOf.get(span.exit)!;
    return { span, y0, y1, gap: undefined as (typeof breaks)[number] | undefined, slot: 0 };
  });
  const perBreak = new Map<object, number>();
  for (const p of placed) {
    p.gap = breaks.find((b) => b.y0 >= p.y0 && b.y1 <= p.y1 && (perBreak.get(b) ?? 0) < 2);
    if (p.gap === undefined) continue;
    p.slot = perBreak.get(p.gap) ?? 0;
    perBreak.set(p.gap, p.slot + 1);
  }
  for (const { span, y0, y1, gap, slot } of placed) {
    const x = laneX(span.lane);
    // Name the connection when the lifeline has several (`TIME-WAIT 55951-80, 2·MSL = 60 s`).
    const label = span.enter.kind === 'state' ? span.label.replace(/^TIME-WAIT/, span.enter.text) : span.label;
    out.push(`<rect class="time-wait" x="${n(x - 5)}" y="${n(y0)}" width="10" height="${n(Math.max(1, y1 - y0))}" fill="${TIME_WAIT_FILL}" fill-opacity="0.6" stroke="#b9770e"><title>${esc(label)}</title></rect>`);
    let ly = (y0 + y1) / 2 + 4;
    if (gap !== undefined) {
      const middle = (gap.y0 + gap.y1) / 2 + 4;
      ly = perBreak.get(gap) === 1 ? middle : middle - 6.5 + 13 * slot;
    }
    spanLabels.push(`<text x="${n(x + 10)}" y="${n(ly)}" fill="#9c640c" font-weight="bold" ${HALO}>${esc(label)}</text>`);
  }

  // Breaks: lifelines cut by a blank band with zigzag edges, the gap written in the time column.
  for (const gap of breaks) {
    const x0 = TIME_COLUMN_PX;
    out.push(`<g class="break"><rect x="${x0}" y="${n(gap.y0 + 4)}" width="${n(width - x0)}" height="${n(gap.y1 - gap.y0 - 8)}" fill="#ffffff"/>`);
    for (const edge of [gap.y0 + 4, gap.y1 - 4]) out.push(`<polyline points="${zigzag(x0, width - 10, edge)}" fill="none" stroke="#999999"/>`);
    out.push(`<text x="6" y="${n((gap.y0 + gap.y1) / 2 + 4)}" fill="#555555" font-style="italic">${esc(`${formatDuration(gap.gapUs)} later`)}</text></g>`);
  }
  // TIME-WAIT persists through a break: redraw the bars' pieces inside it.
  for (const span of ladder.spans) {
    const x = laneX(span.lane);
    const y0 = yOf.get(span.enter)!;
    const y1 = span.exit === null ? bottom : yOf.get(span.exit)!;
    for (const gap of breaks) {
      if (gap.y0 >= y0 && gap.y1 <= y1) out.push(`<rect x="${n(x - 5)}" y="${n(gap.y0 + 4)}" width="10" height="${n(gap.y1 - gap.y0 - 8)}" fill="${TIME_WAIT_FILL}" fill-opacity="0.35"/>`);
    }
  }

  // Time column: the time of each row that starts a new instant.
  let lastTime = -1;
  rows.forEach((row, i) => {
    if (row.atUs === lastTime) return;
    lastTime = row.atUs;
    out.push(`<text x="6" y="${n(rowY[i]! + 4)}" fill="#555555" font-size="10">${formatTimeUs(row.atUs)}</text>`);
  });

  // Arrows.
  const endOf = new Map<Arrow, number>();
  rows.forEach((row, i) => {
    if (row.kind === 'arrive' || row.kind === 'drop') endOf.set(row.arrow, rowY[i]!);
  });
  rows.forEach((row, i) => {
    if (row.kind !== 'send') return;
    out.push(svgArrow(row.arrow, rowY[i]!, endOf.get(row.arrow) ?? null, laneX));
  });

  // States and notes on their lifelines, over the arrows' ends.
  rows.forEach((row, i) => {
    if (row.kind !== 'state' && row.kind !== 'note') return;
    const text = row.text;
    const boxWidth = text.length * CHAR_PX + 10;
    const ry = rowY[i]!;
    const tip = row.kind === 'state' ? `${formatTimeUs(row.atUs)} ${row.text} (${row.cause})` : `${formatTimeUs(row.atUs)} ${row.text}`;
    for (const lane of row.kind === 'state' ? [row.lane] : row.lanes) {
      const x = laneX(lane);
      const fill = row.kind === 'note' ? '#fdebd0' : row.text.startsWith('TIME-WAIT') ? '#fad7a0' : '#ffffff';
      out.push(
        `<g class="${row.kind}"><title>${esc(tip)}</title><rect x="${n(x - boxWidth / 2)}" y="${n(ry - 8)}" width="${n(boxWidth)}" height="16" rx="3" fill="${fill}" stroke="#555555"/><text x="${n(x)}" y="${n(ry + 4)}" text-anchor="middle">${esc(text)}</text></g>`,
      );
    }
  });
  out.push(...spanLabels);

  // Legend.
  out.push(
    `<text x="6" y="${n(height - 26)}" font-size="10" fill="#555555"><tspan fill="${COLOR.normal}">segment</tspan>, <tspan fill="${COLOR.retransmission}">retransmission (retx)</tspan>, <tspan fill="${COLOR.duplicate}">network copy (dup, dashed)</tspan>, <tspan fill="${LOST_COLOR}">lost (X)</tspan>, <tspan fill="#9c640c">TIME-WAIT bar</tspan></text>`,
    `<text x="6" y="${n(height - 12)}" font-size="10" fill="#555555">${esc("seq/ack relative to each direction's ISN; a zigzag band is an idle gap cut short")}</text>`,
  );
  out.push('</svg>');
  return out.join('\n') + '\n';
}

const HALO = 'stroke="#ffffff" stroke-width="3" paint-order="stroke"';

/** `endY`: where its delivery or drop row is, or null while still in flight. */
function svgArrow(arrow: Arrow, y1: number, endY: number | null, laneX: (lane: number) => number): string {
  const x1 = laneX(arrow.from);
  const xTo = laneX(arrow.to);
  const color = COLOR[arrow.style];
  const dash = DASH[arrow.style] === '' ? '' : ` stroke-dasharray="${DASH[arrow.style]}"`;
  const marker = arrow.style === 'old-duplicate' ? 'duplicate' : arrow.style;
  const outcome = arrow.outcome;
  // Lost or still in flight: the arrow stops mid-way.
  const x2 = outcome.kind === 'delivered' ? xTo : (x1 + xTo) / 2;
  const y2 = endY ?? y1 + ROW_PX;
  const parts: string[] = [`<g class="segment ${arrow.style}${outcome.kind === 'dropped' ? ' lost' : ''}"><title>${esc(`${formatTimeUs(arrow.sentAtUs)} ${arrow.detail}${arrow.style === 'retransmission' ? ' (retransmission)' : ''}\n${fateText(arrow)}`)}</title>`];
  if (x1 === xTo) {
    // A host talking to itself: a loop out to the right.
    parts.push(`<path d="M${n(x1)},${n(y1)} C${n(x1 + 60)},${n(y1)} ${n(x1 + 60)},${n(y2)} ${n(x1)},${n(y2)}" fill="none" stroke="${color}"${dash} marker-end="url(#head-${marker})"/>`);
    parts.push(`<text x="${n(x1 + 64)}" y="${n((y1 + y2) / 2 + 4)}" fill="${color}" ${HALO}>${esc(arrow.label)}</text></g>`);
    return parts.join('');
  }
  const head = outcome.kind === 'delivered' ? ` marker-end="url(#head-${marker})"` : '';
  parts.push(`<line x1="${n(x1)}" y1="${n(y1)}" x2="${n(x2)}" y2="${n(y2)}" stroke="${color}" stroke-width="1.4"${dash}${head}/>`);
  if (outcome.kind === 'dropped') {
    const r = 6;
    parts.push(`<path class="cross" d="M${n(x2 - r)},${n(y2 - r)} L${n(x2 + r)},${n(y2 + r)} M${n(x2 - r)},${n(y2 + r)} L${n(x2 + r)},${n(y2 - r)}" stroke="${LOST_COLOR}" stroke-width="2.5"/>`);
    parts.push(`<text x="${n(x2)}" y="${n(y2 + 18)}" text-anchor="middle" fill="${LOST_COLOR}" font-size="10" ${HALO}>${esc(`lost (${outcome.reason})`)}</text>`);
  } else if (outcome.kind === 'in-flight') {
    parts.push(`<text x="${n(x2 + 4)}" y="${n(y2 + 4)}" fill="${color}">?</text>`);
  }
  // The label sits level just above the arrow's start, by the sender, as tcpdump reads: every
  // send has its own row, so two labels never share a line.
  const rightwards = x2 > x1;
  parts.push(`<text x="${n(rightwards ? x1 + 8 : x1 - 8)}" y="${n(y1 - 4)}" text-anchor="${rightwards ? 'start' : 'end'}" fill="${color}" ${HALO}>${esc(arrow.label)}</text>`);
  parts.push('</g>');
  return parts.join('');
}

function zigzag(x0: number, x1: number, y: number): string {
  const points: string[] = [];
  for (let x = x0, up = true; x <= x1; x += 8, up = !up) points.push(`${n(x)},${n(y + (up ? -3 : 3))}`);
  return points.join(' ');
}

/** Numbers in attributes: at most one decimal, no `-0`. */
function n(value: number): string {
  const rounded = Math.round(value * 10) / 10;
  return String(rounded === 0 ? 0 : rounded);
}

/** XML text and attribute escaping. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}
