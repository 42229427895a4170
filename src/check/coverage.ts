/**
 * How often each RFC 9293 edge was taken, and each timer fired, so users see which edges and
 * timers their runs never reach. Timer counts sit in the same table as the edges, under
 * `timer:<kind>` (`timer:fin-wait-2`), so every report that lists the edges lists them too.
 */
import { DIAGRAM_EDGES, EXTRA_EDGES, type Edge, type TcpState } from '../tcp/state.js';
import { TIMER_NAMES, type TimerName, type TraceEvent, type TraceListener } from '../world/trace.js';

export type TimerKey = `timer:${TimerName}`;
/** A host crashed with a connection in this state (`crash:TIME-WAIT`): the generators' crash moments, per state. */
export type CrashKey = `crash:${TcpState}`;

/** The coverage key of a timer kind. */
export function timerKey(timer: TimerName): TimerKey {
  return `timer:${timer}`;
}

const TIMER_KEYS: readonly TimerKey[] = TIMER_NAMES.map(timerKey);

export class EdgeCoverage implements TraceListener {
  readonly counts = new Map<Edge | TimerKey | CrashKey, number>();

  constructor() {
    for (const edge of [...DIAGRAM_EDGES, ...EXTRA_EDGES]) this.counts.set(edge, 0);
    for (const key of TIMER_KEYS) this.counts.set(key, 0);
  }

  onEvent(event: TraceEvent): void {
    if (event.type === 'state') {
      this.add(`${event.from}=>${event.to}` as Edge, 1);
      // The host's crash closes each of its connections with this cause (Host.crash).
      if (event.cause === 'host crash') this.add(`crash:${event.from}`, 1);
    }
    else if (event.type === 'listen') this.add(`${event.from}=>${event.to}` as Edge, 1);
    else if (event.type === 'timer') this.add(TIMER_KEYS[TIMER_NAMES.indexOf(event.timer)]!, 1);
  }

  add(key: Edge | TimerKey | CrashKey, count: number): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + count);
  }

  merge(other: EdgeCoverage): void {
    for (const [key, count] of other.counts) this.add(key, count);
  }

  /** Edges of Figure 5 never taken. */
  missingDiagramEdges(): Edge[] {
    return DIAGRAM_EDGES.filter((edge) => (this.counts.get(edge) ?? 0) === 0);
  }

  /** Timer kinds that never fired. */
  missingTimers(): TimerName[] {
    return TIMER_NAMES.filter((timer) => (this.counts.get(timerKey(timer)) ?? 0) === 0);
  }

  /** Connections a host crash found in `state`. */
  crashesIn(state: TcpState): number {
    return this.counts.get(`crash:${state}`) ?? 0;
  }

  timersFired(timer: TimerName): number {
    return this.counts.get(timerKey(timer)) ?? 0;
  }

  /** Distinct state-diagram edges taken (timers not counted). */
  coveredCount(): number {
    let covered = 0;
    for (const [key, count] of this.counts) if (count > 0 && !key.startsWith('timer:') && !key.startsWith('crash:')) covered++;
    return covered;
  }
}
