/** Every monitor, by name, and a set that feeds them a run's events. */
import { AbortMonitor, CloseShapeMonitor, StreamMonitor } from './close-monitors.js';
import { BindInUseMonitor, LegalTransitionsMonitor, TerminationMonitor } from './lifecycle-monitors.js';
import { ConnBook, type EndOfRun, type Monitor, type MonitorContext, type Violation } from './monitor.js';
import { FinAckMonitor, SeqSpaceMonitor, SynAckMonitor } from './sequence-monitors.js';
import { NoStaleSegmentMonitor, TimeWait2MslMonitor, TimeWaitSideMonitor } from './time-wait-monitors.js';
import type { TraceEvent, TraceListener } from '../world/trace.js';

export type { EndOfRun, Monitor, MonitorContext, Violation } from './monitor.js';

const FACTORIES: readonly ((context: MonitorContext) => Monitor)[] = [
  (c) => new SynAckMonitor(c),
  (c) => new FinAckMonitor(c),
  (c) => new TimeWait2MslMonitor(c),
  (c) => new TimeWaitSideMonitor(c),
  (c) => new NoStaleSegmentMonitor(c),
  (c) => new BindInUseMonitor(c),
  (c) => new AbortMonitor(c),
  (c) => new StreamMonitor(c),
  (c) => new TerminationMonitor(c),
  (c) => new LegalTransitionsMonitor(c),
  (c) => new SeqSpaceMonitor(c),
  (c) => new CloseShapeMonitor(c),
];

/**
 * The monitors for a run. Without `only`, `no-stale-segment` joins only where C10 promises it
 * (TIME-WAIT honoured, segments within MSL); named in `only`, it always does — that is how the
 * hazard demos look for the counterexample.
 */
export function createMonitors(context: MonitorContext, only?: ReadonlySet<string>): Monitor[] {
  const monitors = FACTORIES.map((make) => make(context));
  if (only !== undefined) return monitors.filter((m) => only.has(m.name));
  return monitors.filter((m) => m.name !== 'no-stale-segment' || context.staleSegmentsImpossible);
}

/** Names, claims and descriptions of every monitor, for `timewait list` and the README. */
export function describeMonitors(): { name: string; claims: readonly string[]; description: string }[] {
  const context: MonitorContext = { mslUs: 1, expectedTimeWaitUs: 2, delayedAckUs: 0, cleanNetwork: true, staleSegmentsImpossible: true };
  return createMonitors(context).map((m) => ({ name: m.name, claims: m.claims, description: m.description }));
}

/** Feeds every event to every monitor; the first violation of each is kept. */
export class MonitorSet implements TraceListener {
  private index = 0;
  /** One book of connections for every monitor, fed once per event before they see it. */
  private readonly book = new ConnBook();

  constructor(readonly monitors: readonly Monitor[]) {
    for (const monitor of monitors) monitor.shareBook?.(this.book);
  }

  onEvent(event: TraceEvent): void {
    const index = this.index++;
    this.book.observe(event);
    const monitors = this.monitors;
    for (let i = 0; i < monitors.length; i++) monitors[i]!.onEvent(event, index);
  }

  atEnd(end: EndOfRun): void {
    for (const monitor of this.monitors) monitor.atEnd(end);
  }

  /** Violations in the order they happened. */
  violations(): Violation[] {
    const found: Violation[] = [];
    for (const monitor of this.monitors) if (monitor.violation !== null) found.push(monitor.violation);
    return found.sort((a, b) => (a.eventIndex < 0 ? Infinity : a.eventIndex) - (b.eventIndex < 0 ? Infinity : b.eventIndex));
  }
}
