/**
 * What a link direction does to the segments crossing it. Every field is a plain number or a
 * list of time windows so a fault plan is data: fast-check generates it, scenario files declare
 * it, and the run prints it first (TigerBeetle's VOPR banner).
 */

export interface TimeWindowUs {
  readonly fromUs: number;
  /** Exclusive. */
  readonly toUs: number;
}

/** Gilbert–Elliott bursty loss: a two-state Markov chain stepped once per segment. */
export interface BurstLoss {
  /** Probability of moving good -> bad per segment. */
  readonly enterBadRate: number;
  /** Probability of moving bad -> good per segment. */
  readonly leaveBadRate: number;
  /** Loss probability while bad (while good, `lossRate` applies). */
  readonly lossRateBad: number;
}

export interface LinkFaults {
  /** One-way propagation delay. */
  readonly delayUs: number;
  /** Extra delay drawn uniformly from [0, jitterUs] per segment. */
  readonly jitterUs: number;
  /** Independent loss probability (in the good state when `burst` is set). */
  readonly lossRate: number;
  readonly burst: BurstLoss | null;
  /** Probability that a second copy is sent as well, with its own delay draw. */
  readonly duplicateRate: number;
  /** Probability that a segment gets an extra delay drawn from [0, reorderDelayUsMax]. */
  readonly reorderRate: number;
  readonly reorderDelayUsMax: number;
  /**
   * Probability that a copy is kept back and released later, after a delay drawn from
   * [0, oldDuplicateDelayUsMax]: the "old duplicate" of RFC 9293 §3.4.1 that TIME-WAIT exists for.
   */
  readonly oldDuplicateRate: number;
  readonly oldDuplicateDelayUsMax: number;
  /** Segments sent, or due to arrive, inside a window are dropped. Configure one direction for a one-way cut. */
  readonly partitions: readonly TimeWindowUs[];
  /** Segments sent inside a window are held and released together when it ends. */
  readonly holds: readonly TimeWindowUs[];
  /**
   * Scripted loss: the datagrams handed to this direction with these 0-based indexes are dropped
   * (counting every datagram sent this way, copies excluded), whatever `faultsEndUs` says. The
   * conformance tests lose "the k-th segment" with it. Optional so fault plans may omit it.
   */
  readonly dropSegmentIndexes?: readonly number[];
}

export const CLEAN_LINK: LinkFaults = Object.freeze({
  delayUs: 1_000,
  jitterUs: 0,
  lossRate: 0,
  burst: null,
  duplicateRate: 0,
  reorderRate: 0,
  reorderDelayUsMax: 0,
  oldDuplicateRate: 0,
  oldDuplicateDelayUsMax: 0,
  partitions: [],
  holds: [],
});

export function linkFaults(overrides: Partial<LinkFaults>): LinkFaults {
  return { ...CLEAN_LINK, ...overrides };
}

/** True when the link has any fault that can lose or reorder segments. */
export function isFaulty(faults: LinkFaults): boolean {
  return (
    faults.jitterUs > 0 ||
    faults.lossRate > 0 ||
    faults.burst !== null ||
    faults.duplicateRate > 0 ||
    faults.reorderRate > 0 ||
    faults.oldDuplicateRate > 0 ||
    faults.partitions.length > 0 ||
    faults.holds.length > 0 ||
    (faults.dropSegmentIndexes?.length ?? 0) > 0
  );
}

export function insideWindow(windows: readonly TimeWindowUs[], atUs: number): TimeWindowUs | null {
  for (const w of windows) if (atUs >= w.fromUs && atUs < w.toUs) return w;
  return null;
}
