/** Every monitor, by name, and a set that feeds them a run's events. */
import { AbortMonitor, CloseShapeMonitor, OrphanFinWait2Monitor, StreamMonitor } from './close-monitors.js';
import { BindInUseMonitor, LegalTransitionsMonitor, TerminationMonitor } from './lifecycle-monitors.js';
import { ConnBook, type EndOfRun, type Monitor, type MonitorContext, type MonitorInterest, type Violation } from './monitor.js';
import { FinAckMonitor, SeqSpaceMonitor, SynAckMonitor } from './sequence-monitors.js';
import { NoStaleSegmentMonitor, TimeWait2MslMonitor, TimeWaitSideMonitor } from './time-wait-monitors.js';
import { TimestampsMonitor } from './timestamp-monitors.js';
import { ConnectResultMonitor, EphemeralPortMonitor, HostResetMonitor, ListenConflictMonitor, TimeWaitSynMonitor } from './wire-monitors.js';
import type { TraceEvent, TraceListener } from '../world/trace.js';

export type { EndOfRun, Monitor, MonitorContext, MonitorInterest, Violation } from './monitor.js';

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
  (c) => new OrphanFinWait2Monitor(c),
  (c) => new ConnectResultMonitor(c),
  (c) => new HostResetMonitor(c),
  (c) => new TimeWaitSynMonitor(c),
  (c) => new ListenConflictMonitor(c),
  (c) => new EphemeralPortMonitor(c),
  (c) => new TimestampsMonitor(c),
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
export function describeMonitors(): { name: string; claims: readonly string[]; description: string; blackBox: boolean }[] {
  const context: MonitorContext = { mslUs: 1, expectedTimeWaitUs: 2, delayedAckUs: 0, cleanNetwork: true, staleSegmentsImpossible: true };
  return createMonitors(context).map((m) => ({ name: m.name, claims: m.claims, description: m.description, blackBox: m.blackBox }));
}

/** Feeds every event to every monitor that reads it; the first violation of each is kept. */
export class MonitorSet implements TraceListener {
  private index = 0;
  /** One book of connections for every monitor, fed once per event before they see it. */
  private readonly book = new ConnBook();
  /**
   * The monitors that read each kind of event (`kindOf`), in the set's order: most events
   * (deliveries, timers, calls) concern two or three monitors of twelve.
   */
  private readonly byKind: readonly (readonly Monitor[])[];

  /** The monitors that keep something per connection, told when the book finds one past judging. */
  private readonly forgetters: readonly Monitor[];

  constructor(readonly monitors: readonly Monitor[]) {
    for (const monitor of monitors) monitor.shareBook?.(this.book);
    this.forgetters = monitors.filter((monitor) => monitor.forgetConnection !== undefined);
    this.book.startForgetting();
    this.byKind = KINDS.map((_, kind) => monitors.filter((monitor) => readsKind(monitor.interests, kind)));
  }

  onEvent(event: TraceEvent): void {
    const index = this.index++;
    this.book.observe(event);
    const monitors = this.byKind[kindOf(event)]!;
    for (let i = 0; i < monitors.length; i++) monitors[i]!.onEvent(event, index);
    if (this.book.hasQuietBefore(event.atUs)) this.book.forgetQuiet(this.forgetters, event.atUs);
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

/** Event kinds the set dispatches on: trace event types, with segments split by sent or not. */
const KINDS = ['state', 'segment-sent', 'segment-other', 'listen', 'time-wait-restart', 'accepted', 'timer', 'call', 'host'] as const;

function kindOf(event: TraceEvent): number {
  switch (event.type) {
    case 'state':
      return 0;
    case 'segment':
      return event.fate === 'sent' ? 1 : 2;
    case 'listen':
      return 3;
    case 'time-wait-restart':
      return 4;
    case 'accepted':
      return 5;
    case 'timer':
      return 6;
    case 'call':
      return 7;
    case 'host':
      return 8;
  }
}

function readsKind(interests: readonly MonitorInterest[] | undefined, kind: number): boolean {
  if (interests === undefined) return true;
  const name = KINDS[kind]!;
  if (name === 'segment-sent') return interests.includes('segment') || interests.includes('segment-sent');
  if (name === 'segment-other') return interests.includes('segment');
  return interests.includes(name);
}
