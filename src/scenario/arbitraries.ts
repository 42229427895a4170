/**
 * fast-check arbitraries for whole runs. Every number shrinks toward the simplest case — no
 * faults, one connection, few bytes, one incarnation — so a failure shrinks to a small,
 * readable counterexample. The simulation seed is drawn but never shrunk
 * (`fc.noShrink`): fast-check's `{ seed, path }` alone replays the run.
 */
import fc from 'fast-check';
import { CLEAN_PLAN, type CloseOrder, type ConnectionSpec, type FaultPlan, type PartitionSpec, type RunSpec } from './spec.js';

const MS = 1_000;

export interface RunShape {
  /** Close orders to draw from. */
  readonly closeOrders: readonly CloseOrder[];
  readonly maxConnections?: number;
  readonly maxClients?: number;
  readonly maxServers?: number;
  readonly maxIncarnations?: number;
  /** Draw faults (otherwise every link is clean). */
  readonly faults?: boolean;
  /** Allow old-duplicate injection. */
  readonly oldDuplicates?: boolean;
  readonly enforceMsl?: boolean;
  readonly maxBytes?: number;
  /** ISN policies to draw from (default: RFC 6528 and random). */
  readonly isn?: readonly RunSpec['isn'][];
  readonly rfc1337?: boolean;
  /** Linux tcp_timestamps for every host (default 1); 0 removes PAWS, to show C10's hazards. */
  readonly timestamps?: 0 | 1 | 2;
  /** MSLs to draw from. */
  readonly mslUs?: readonly number[];
  readonly oldDuplicateDelayUsMax?: number;
  /** Maximum pause between incarnations. */
  readonly maxGapUs?: number;
  /** In a quarter of the runs, leave the delayed-ACK timeout at the stack's default rather than drawing it. */
  readonly stackDefaults?: boolean;
  /** In some runs, every connection starts at one fixed ISN just below 2^32, so sequence numbers wrap mid-stream. */
  readonly wrapIsn?: boolean;
  /** Draw whether each SO_REUSEADDR server also binds a second SO_REUSEADDR socket and tries to listen on it (C13). */
  readonly secondListener?: boolean;
  /** In some runs, a small receive buffer (256-2048 bytes): windows close and the persist timer runs. */
  readonly smallBuffers?: boolean;
  /** Draw Linux's TIME-WAIT knobs (`linuxKnobsArb`): timestamps, tcp_tw_reuse, tcp_max_tw_buckets, a small port range, ephemeral reconnects. */
  readonly linuxKnobs?: boolean;
  /** In some runs, the first connection's server crashes at a drawn moment of its life (`crashAfterUs`). */
  readonly midLifeCrash?: boolean;
  /**
   * In some runs, the connections carry no data in one direction or in both (0-byte request,
   * response or both): a FIN then arrives before any data, and Linux ACKs it at once
   * (icsk_ack.ato is 0 until data arrives), so even a prompt passive close takes four segments.
   */
  readonly noData?: boolean;
  /**
   * Linux's tcp_sack = 1 in a third of the runs (the stack's default is off: README, "Deliberately
   * left out"): sackOK, SACK blocks, and the tail-loss probe that needs a SACK connection.
   */
  readonly sackKnob?: boolean;
}

/** Which directions of a run's connections carry no data (`noData`). */
export type NoDataDirections = 'request' | 'response' | 'both';

const TWO_TO_32 = 2 ** 32;

export function faultPlanArb(options: { oldDuplicates: boolean; faultsEndUs: number; oldDuplicateDelayUsMax?: number }): fc.Arbitrary<FaultPlan> {
  const permille = (max: number) => fc.integer({ min: 0, max });
  const partition: fc.Arbitrary<PartitionSpec> = fc
    .record({
      direction: fc.constantFrom<PartitionSpec['direction']>('to-server', 'to-client', 'both'),
      fromUs: fc.integer({ min: 0, max: options.faultsEndUs - 1 }),
      lengthUs: fc.integer({ min: 1, max: 3_000 * MS }),
    })
    .map(({ direction, fromUs, lengthUs }) => ({ direction, fromUs, toUs: Math.min(fromUs + lengthUs, options.faultsEndUs) }));
  return fc.record({
    delayUs: fc.integer({ min: 100, max: 50 * MS }),
    jitterUs: fc.integer({ min: 0, max: 20 * MS }),
    lossPermille: permille(300),
    burst: fc.option(
      fc.record({
        enterBadRate: fc.integer({ min: 1, max: 200 }).map((n) => n / 1000),
        leaveBadRate: fc.integer({ min: 100, max: 900 }).map((n) => n / 1000),
        lossRateBad: fc.integer({ min: 100, max: 1000 }).map((n) => n / 1000),
      }),
      { freq: 4 },
    ),
    duplicatePermille: permille(200),
    reorderPermille: permille(300),
    reorderDelayUsMax: fc.integer({ min: 0, max: 100 * MS }),
    oldDuplicatePermille: options.oldDuplicates ? permille(300) : fc.constant(0),
    oldDuplicateDelayUsMax: options.oldDuplicates ? fc.integer({ min: 0, max: options.oldDuplicateDelayUsMax ?? 2_000 * MS }) : fc.constant(0),
    partitions: fc.array(partition, { maxLength: 2 }),
  });
}

/** Close orders whose scripts open their 4-tuple once. */
const ONE_INCARNATION: ReadonlySet<CloseOrder> = new Set(['simultaneous-open', 'refused', 'unreachable', 'silent-peer', 'late-peer']);

function connectionArb(shape: RunShape, clients: number, servers: number): fc.Arbitrary<ConnectionSpec> {
  const maxBytes = shape.maxBytes ?? 4_000;
  return fc.record({
    client: fc.integer({ min: 0, max: clients - 1 }),
    server: fc.integer({ min: 0, max: servers - 1 }),
    startUs: fc.integer({ min: 0, max: 500 * MS }),
    requestBytes: fc.integer({ min: 1, max: maxBytes }),
    responseBytes: fc.integer({ min: 1, max: maxBytes }),
    closeOrder: fc.constantFrom(...shape.closeOrders),
    passiveCloseDelayUs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 200 * MS })),
    incarnations: fc.integer({ min: 1, max: shape.maxIncarnations ?? 2 }),
    gapUs: fc.integer({ min: 0, max: shape.maxGapUs ?? 3_000 * MS }),
    clientReuseAddr: fc.boolean(),
    serverReuseAddr: fc.boolean(),
    flowKey: fc.noShrink(fc.integer()),
  });
}

/**
 * A whole run: the seed, the hosts, the connections and the faults. One flat record (no
 * `chain`), so fast-check shrinks every part independently; host indices are taken modulo the
 * host counts.
 */
export function runSpecArb(shape: RunShape): fc.Arbitrary<RunSpec> {
  const faultsEndUs = 8_000 * MS;
  const maxClients = shape.maxClients ?? 2;
  const maxServers = shape.maxServers ?? 2;
  // Drawn only where the shape asks, so that other generators' draws stay as they were.
  const extras = {
    ...(shape.stackDefaults === true ? { defaultDelayedAck: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }) } : {}),
    ...(shape.wrapIsn === true ? { wrapBelowUs: fc.option(fc.integer({ min: 1, max: 2 * (shape.maxBytes ?? 4_000) + 2 }), { freq: 3 }) } : {}),
    ...(shape.secondListener === true ? { secondListener: fc.boolean() } : {}),
    ...(shape.smallBuffers === true ? { smallBuffer: fc.option(fc.integer({ min: 256, max: 2_048 }), { freq: 3 }) } : {}),
    ...(shape.linuxKnobs === true ? { linuxKnobs: linuxKnobsArb() } : {}),
    ...(shape.midLifeCrash === true ? { crashAfterUs: crashMomentArb() } : {}),
    ...(shape.noData === true ? { noData: fc.option(fc.constantFrom<NoDataDirections>('request', 'response', 'both'), { freq: 3 }) } : {}),
    ...(shape.sackKnob === true ? { sackOn: fc.oneof({ weight: 2, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }) } : {}),
  };
  return fc
    .record({
      ...extras,
      seed: fc.noShrink(fc.integer()),
      connections: fc.array(connectionArb(shape, maxClients, maxServers), { minLength: 1, maxLength: shape.maxConnections ?? 3 }),
      clients: fc.integer({ min: 1, max: maxClients }),
      servers: fc.integer({ min: 1, max: maxServers }),
      mslUs: fc.constantFrom(...(shape.mslUs ?? [2_000 * MS, 500 * MS, 5_000 * MS])),
      delayedAckUs: fc.constantFrom(40 * MS, 0),
      isn: fc.constantFrom<RunSpec['isn']>(...(shape.isn ?? ['rfc6528', 'random'])),
      faults:
        shape.faults === false
          ? fc.constant(CLEAN_PLAN)
          : faultPlanArb({ oldDuplicates: shape.oldDuplicates ?? true, faultsEndUs, ...(shape.oldDuplicateDelayUsMax !== undefined ? { oldDuplicateDelayUsMax: shape.oldDuplicateDelayUsMax } : {}) }),
    })
    .map(({ connections, wrapBelowUs, smallBuffer, noData, linuxKnobs, crashAfterUs, sackOn, ...base }: { connections: ConnectionSpec[]; wrapBelowUs?: number | null; smallBuffer?: number | null; noData?: NoDataDirections | null; linuxKnobs?: LinuxKnobs; crashAfterUs?: number | null; sackOn?: boolean } & Omit<RunSpec, 'connections' | 'faultsEndUs' | 'enforceMsl' | 'rfc1337' | 'crashAfterUs'>) => {
      const silentRequest = noData === 'request' || noData === 'both';
      const silentResponse = noData === 'response' || noData === 'both';
      const placed = connections.map((c) => ({
        ...c,
        client: c.client % base.clients,
        server: c.server % base.servers,
        ...(silentRequest ? { requestBytes: 0 } : {}),
        ...(silentResponse ? { responseBytes: 0 } : {}),
      }));
      // A crash takes every connection of the host with it; keep crash runs to one connection.
      const crash = placed.find((c) => c.closeOrder === 'crash-server' || c.closeOrder === 'unreachable');
      const single = (c: ConnectionSpec) => (ONE_INCARNATION.has(c.closeOrder) ? { ...c, incarnations: 1 } : c);
      const midLife = crashAfterUs !== undefined && crashAfterUs !== null ? { crashAfterUs: crashAfterUsOf(crashAfterUs, placed[0]!, faultsEndUs) } : {};
      const kept = crash !== undefined ? [{ ...crash, incarnations: 1 }] : 'crashAfterUs' in midLife ? [single(placed[0]!)] : placed.map(single);
      // An ISN just below 2^32 (every connection the same one: only where each 4-tuple is used once).
      const wrap = wrapBelowUs !== undefined && wrapBelowUs !== null ? { isn: 'fixed' as const, fixedIsn: TWO_TO_32 - wrapBelowUs } : {};
      const buffer = smallBuffer !== undefined && smallBuffer !== null ? { receiveBufferBytes: smallBuffer } : {};
      const timestamps = shape.timestamps !== undefined ? { timestamps: shape.timestamps } : {};
      const sack = sackOn === true ? { sack: true } : {};
      return { ...base, ...wrap, ...buffer, ...timestamps, ...sack, ...linuxKnobsOf(linuxKnobs), ...midLife, connections: kept, faultsEndUs, enforceMsl: shape.enforceMsl ?? true, rfc1337: shape.rfc1337 ?? false };
    });
}

/** Linux's TIME-WAIT knobs for one run; null leaves the stack's default alone. */
interface LinuxKnobs {
  readonly timestamps: 0 | 1 | 2 | null;
  readonly twReuse: 0 | 1 | 2 | null;
  readonly maxTwBuckets: number | null;
  readonly ephemeralPorts: number | null;
  readonly ephemeralReconnect: boolean;
}

/**
 * Issue 10's knobs (drawn where the shape asks for `linuxKnobs`): tcp_timestamps 0/1/2,
 * tcp_tw_reuse 0/1/2, a tcp_max_tw_buckets of 1 or 2 (TIME-WAIT overflows), a port range of
 * 1 to 4 ports (every 4-tuple to a server in TIME-WAIT: EADDRNOTAVAIL, or tcp_tw_reuse takes one
 * over), and later incarnations from ephemeral ports rather than a bound one. Each is left at
 * the stack's default in most runs, so the defaults stay the common case.
 */
function linuxKnobsArb(): fc.Arbitrary<LinuxKnobs> {
  const sometimes = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.option(arb, { freq: 2 });
  return fc.record({
    timestamps: sometimes(fc.constantFrom<0 | 1 | 2>(0, 1, 2)),
    twReuse: sometimes(fc.constantFrom<0 | 1 | 2>(0, 1, 2)),
    maxTwBuckets: fc.option(fc.integer({ min: 1, max: 2 }), { freq: 4 }),
    ephemeralPorts: fc.option(fc.integer({ min: 1, max: 4 }), { freq: 4 }),
    ephemeralReconnect: fc.boolean(),
  });
}

/** The RunSpec fields of `knobs`; none for a knob left alone. */
function linuxKnobsOf(knobs: LinuxKnobs | undefined): Partial<RunSpec> {
  if (knobs === undefined) return {};
  const low = 32768;
  return {
    ...(knobs.timestamps !== null ? { timestamps: knobs.timestamps } : {}),
    ...(knobs.twReuse !== null ? { twReuse: knobs.twReuse } : {}),
    ...(knobs.maxTwBuckets !== null ? { maxTwBuckets: knobs.maxTwBuckets } : {}),
    ...(knobs.ephemeralPorts !== null ? { ephemeralPorts: [low, low + knobs.ephemeralPorts - 1] as const } : {}),
    ...(knobs.ephemeralReconnect ? { ephemeralReconnect: true } : {}),
  };
}

/** A crash moment from this mark on means "this long after simultaneous closes begin" (`crashAfterUsOf`). */
const AT_SETTLE_MARK_US = 1_000_000 * MS;

/**
 * When the first connection's server crashes, in two runs of three: early (the handshake,
 * SYN-RECEIVED), through the exchange and a prompt close (LAST-ACK lasts one round trip), up to
 * TIME-WAIT (seconds), and just after simultaneous closes begin (a second after faults stop,
 * when both FINs cross: CLOSING, one round trip long). So every state a server passes through is
 * hit by some run, counted as `crash:<state>` in the coverage report.
 */
function crashMomentArb(): fc.Arbitrary<number | null> {
  const within = (min: number, max: number) => fc.integer({ min, max });
  return fc.option(fc.oneof(within(0, 20 * MS), within(0, 300 * MS), within(0, 1_500 * MS), within(0, 6_000 * MS), within(AT_SETTLE_MARK_US, AT_SETTLE_MARK_US + 60 * MS)), { freq: 3 });
}

/** The drawn moment as time after the first connection starts; simultaneous closes begin a second after the faults end (build.ts). */
function crashAfterUsOf(drawn: number, first: ConnectionSpec, faultsEndUs: number): number {
  return drawn < AT_SETTLE_MARK_US ? drawn : Math.max(0, faultsEndUs + 1_000 * MS - first.startUs) + (drawn - AT_SETTLE_MARK_US);
}
