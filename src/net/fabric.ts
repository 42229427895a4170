/**
 * The network fabric: hosts attached by IPv4 address, and one link per direction between any
 * two of them, each with its own fault settings and its own seeded random stream
 * (`link/<src>-><dst>`), so adding a host never changes another link's draws.
 *
 * The fabric is generic over what it carries: it knows addresses, the send time and an id,
 * nothing of TCP (imports point downward). Every fate of every datagram is reported to an
 * optional observer; with none attached, reporting costs one null check.
 */
import { rngStream, type Rng } from '../sim/rng.js';
import { SimEvent, type EventHandler, type Scheduler } from '../sim/scheduler.js';
import { formatIpv4 } from './address.js';
import { CLEAN_LINK, insideWindow, type LinkFaults } from './faults.js';

export interface Datagram {
  /** Unique per datagram and per copy, assigned by whoever creates it. */
  readonly id: number;
  readonly srcIp: number;
  readonly dstIp: number;
  /** When the original was handed to the fabric; copies keep it, so MSL counts from the first send. */
  sentAtUs: number;
}

export interface DatagramReceiver<D extends Datagram> {
  receive(datagram: D, nowUs: number): void;
}

export type DropReason = 'loss' | 'burst-loss' | 'partition' | 'msl-expired' | 'no-route' | 'scripted';
export type DelayReason = 'reorder' | 'hold' | 'old-duplicate';

export interface FabricObserver<D extends Datagram> {
  sent(datagram: D, nowUs: number): void;
  delivered(datagram: D, nowUs: number): void;
  dropped(datagram: D, nowUs: number, reason: DropReason): void;
  /** `copy` is a new datagram (new id) that will meet its own fate. */
  duplicated(original: D, copy: D, nowUs: number, why: 'duplicate' | 'old-duplicate'): void;
  delayed(datagram: D, nowUs: number, extraUs: number, why: DelayReason): void;
}

export interface FabricOptions<D extends Datagram> {
  readonly rootSeed: number;
  /** Maximum Segment Lifetime. */
  readonly mslUs: number;
  /** When true (the default world), nothing is delivered more than MSL after it was sent. */
  readonly enforceMsl: boolean;
  /** Faults used for a link direction nobody configured. */
  readonly defaultFaults?: LinkFaults;
  /** Random faults (loss, duplication, reordering, old duplicates) apply only before this time. */
  readonly faultsEndUs?: number;
  /** Makes an independent copy with a fresh id (for duplication). */
  readonly clone: (datagram: D) => D;
  /** Optional: told of each datagram the fabric is done with (delivered, or dropped), so its maker may use the object again. */
  readonly finished?: (datagram: D) => void;
}

const DELIVER = 1;

export class Fabric<D extends Datagram> implements EventHandler<D | null> {
  observer: FabricObserver<D> | null = null;
  /**
   * Optional: the flow a datagram belongs to (a stable key its creator chose, e.g. a generated
   * connection's never-shrunk key), or null. A datagram of a flow draws its fate — loss, burst
   * state, jitter, reordering, duplication — from the flow's own stream on its link
   * (`flow/<key>/<src>-><dst>`), so removing one flow from a run leaves every other flow's draws
   * as they were, and a counterexample under random faults shrinks to the one connection that
   * matters. Datagrams of no flow draw from the link's stream.
   */
  flowKeyOf: ((datagram: D) => number | null) | null = null;
  private readonly flowFates = new Map<number, Map<number, FateStream>>();
  /**
   * Delivery events that have fired, kept for the next datagrams: one event per datagram in
   * flight rather than one allocated per datagram. Only the fabric ever holds them, and an
   * event's identity plays no part in the order (`(atUs, seq)` does).
   */
  private readonly spareEvents: SimEvent<D | null>[] = [];
  private readonly receivers = new Map<number, DatagramReceiver<D>>();
  private readonly linksBySource = new Map<number, Map<number, LinkDirection>>();
  private readonly defaultFaults: LinkFaults;
  private readonly faultsEndUs: number;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly options: FabricOptions<D>,
  ) {
    if (!Number.isSafeInteger(options.mslUs) || options.mslUs <= 0) throw new Error(`mslUs must be a positive integer, got ${options.mslUs}`);
    this.defaultFaults = options.defaultFaults ?? CLEAN_LINK;
    this.faultsEndUs = options.faultsEndUs ?? Infinity;
  }

  get mslUs(): number {
    return this.options.mslUs;
  }

  attach(ip: number, receiver: DatagramReceiver<D>): void {
    if (this.receivers.has(ip)) throw new Error(`address ${formatIpv4(ip)} is already attached`);
    this.receivers.set(ip, receiver);
  }

  detach(ip: number): void {
    this.receivers.delete(ip);
  }

  /** Set the faults of one direction, src -> dst. */
  configureLink(srcIp: number, dstIp: number, faults: LinkFaults): void {
    this.link(srcIp, dstIp).faults = faults;
  }

  faultsOf(srcIp: number, dstIp: number): LinkFaults {
    return this.link(srcIp, dstIp).faults;
  }

  /** Hand a datagram to the network. Its fate is decided now, from the link's stream. */
  send(datagram: D): void {
    const nowUs = this.scheduler.nowUs;
    datagram.sentAtUs = nowUs;
    const observer = this.observer;
    observer?.sent(datagram, nowUs);
    if (!this.receivers.has(datagram.dstIp)) {
      this.drop(datagram, nowUs, 'no-route');
      return;
    }
    const link = this.link(datagram.srcIp, datagram.dstIp);
    const faults = link.faults;
    if (link.takeScriptedDrop()) {
      this.drop(datagram, nowUs, 'scripted');
      return;
    }
    if (insideWindow(faults.partitions, nowUs) !== null) {
      this.drop(datagram, nowUs, 'partition');
      return;
    }
    const randomFaults = nowUs < this.faultsEndUs;
    const fates = this.fatesOf(link, datagram);
    if (randomFaults) {
      const lost = fates.drawLoss(faults);
      if (lost !== null) {
        this.drop(datagram, nowUs, lost);
        return;
      }
    }
    this.launch(link, fates.rng, datagram, nowUs, randomFaults);
    if (!randomFaults) return;
    const rng = fates.rng;
    if (rng.chance(faults.duplicateRate)) {
      const copy = this.options.clone(datagram);
      observer?.duplicated(datagram, copy, nowUs, 'duplicate');
      this.launch(link, rng, copy, nowUs, true);
    }
    if (rng.chance(faults.oldDuplicateRate)) {
      const copy = this.options.clone(datagram);
      observer?.duplicated(datagram, copy, nowUs, 'old-duplicate');
      const heldUs = rng.int(0, faults.oldDuplicateDelayUsMax + 1);
      observer?.delayed(copy, nowUs, heldUs, 'old-duplicate');
      this.scheduleArrival(copy, nowUs + heldUs + faults.delayUs);
    }
  }

  onEvent(event: SimEvent<D | null>, nowUs: number): void {
    const datagram = event.payload!;
    event.payload = null;
    this.spareEvents.push(event);
    const observer = this.observer;
    // RFC 9293 §3.4.1: segments live at most MSL in the network; the switch lets them outlive it.
    if (this.options.enforceMsl && nowUs - datagram.sentAtUs > this.options.mslUs) {
      this.drop(datagram, nowUs, 'msl-expired');
      return;
    }
    const link = this.link(datagram.srcIp, datagram.dstIp);
    if (insideWindow(link.faults.partitions, nowUs) !== null) {
      this.drop(datagram, nowUs, 'partition');
      return;
    }
    const receiver = this.receivers.get(datagram.dstIp);
    if (receiver === undefined) {
      this.drop(datagram, nowUs, 'no-route');
      return;
    }
    observer?.delivered(datagram, nowUs);
    receiver.receive(datagram, nowUs);
    this.options.finished?.(datagram);
  }

  /** A datagram's end short of its receiver: the observer hears why, and its maker may use the object again. */
  private drop(datagram: D, nowUs: number, reason: DropReason): void {
    this.observer?.dropped(datagram, nowUs, reason);
    this.options.finished?.(datagram);
  }

  /** The stream a datagram's fate is drawn from: its flow's on this link, or the link's own. */
  private fatesOf(link: LinkDirection, datagram: D): FateStream {
    const flowKeyOf = this.flowKeyOf;
    const key = flowKeyOf === null ? null : flowKeyOf(datagram);
    if (key === null) return link.fates;
    let byLink = this.flowFates.get(key);
    if (byLink === undefined) {
      byLink = new Map();
      this.flowFates.set(key, byLink);
    }
    // One stream per flow and direction: the source address tells the two directions apart.
    let fates = byLink.get(datagram.srcIp);
    if (fates === undefined) {
      fates = new FateStream(rngStream(this.options.rootSeed, `flow/${key}/${formatIpv4(datagram.srcIp)}->${formatIpv4(datagram.dstIp)}`));
      byLink.set(datagram.srcIp, fates);
    }
    return fates;
  }

  private launch(link: LinkDirection, rng: Rng, datagram: D, nowUs: number, randomFaults: boolean): void {
    const faults = link.faults;
    let departUs = nowUs;
    const hold = insideWindow(faults.holds, nowUs);
    if (hold !== null) {
      departUs = hold.toUs;
      this.observer?.delayed(datagram, nowUs, hold.toUs - nowUs, 'hold');
    }
    let arriveUs = departUs + faults.delayUs;
    if (faults.jitterUs > 0) arriveUs += rng.int(0, faults.jitterUs + 1);
    if (randomFaults && rng.chance(faults.reorderRate)) {
      const extraUs = rng.int(0, faults.reorderDelayUsMax + 1);
      arriveUs += extraUs;
      this.observer?.delayed(datagram, nowUs, extraUs, 'reorder');
    }
    this.scheduleArrival(datagram, arriveUs);
  }

  private scheduleArrival(datagram: D, atUs: number): void {
    const event = this.spareEvents.pop() ?? new SimEvent<D | null>(this, DELIVER, null);
    event.payload = datagram;
    this.scheduler.schedule(event, atUs);
  }

  private link(srcIp: number, dstIp: number): LinkDirection {
    let bySource = this.linksBySource.get(srcIp);
    if (bySource === undefined) {
      bySource = new Map();
      this.linksBySource.set(srcIp, bySource);
    }
    let link = bySource.get(dstIp);
    if (link === undefined) {
      link = new LinkDirection(this.defaultFaults, rngStream(this.options.rootSeed, `link/${formatIpv4(srcIp)}->${formatIpv4(dstIp)}`));
      bySource.set(dstIp, link);
    }
    return link;
  }
}

/** A stream of fates: its random draws and its Gilbert–Elliott state. */
class FateStream {
  private burstBad = false;

  constructor(readonly rng: Rng) {}

  drawLoss(faults: LinkFaults): DropReason | null {
    const burst = faults.burst;
    if (burst !== null) {
      // Step the two-state chain once per segment, then lose with the state's probability.
      this.burstBad = this.burstBad ? !this.rng.chance(burst.leaveBadRate) : this.rng.chance(burst.enterBadRate);
      if (this.burstBad) return this.rng.chance(burst.lossRateBad) ? 'burst-loss' : null;
    }
    return this.rng.chance(faults.lossRate) ? 'loss' : null;
  }
}

/** One direction of a link: its faults, its own fate stream and its send count. */
class LinkDirection {
  readonly fates: FateStream;
  private faultsValue: LinkFaults;
  /** `dropSegmentIndexes` as a set, so the scripted-loss check is O(1) per datagram. */
  private dropIndexes: ReadonlySet<number>;
  /** Datagrams handed to this direction so far (copies excluded). */
  private sentCount = 0;

  constructor(faults: LinkFaults, rng: Rng) {
    this.fates = new FateStream(rng);
    this.faultsValue = faults;
    this.dropIndexes = dropIndexSet(faults);
  }

  get faults(): LinkFaults {
    return this.faultsValue;
  }

  set faults(faults: LinkFaults) {
    this.faultsValue = faults;
    this.dropIndexes = dropIndexSet(faults);
  }

  /** Count one more datagram sent this way; true when its index is one to drop. */
  takeScriptedDrop(): boolean {
    const index = this.sentCount++;
    return this.dropIndexes.size > 0 && this.dropIndexes.has(index);
  }

}

const NO_INDEXES: ReadonlySet<number> = new Set();

function dropIndexSet(faults: LinkFaults): ReadonlySet<number> {
  const indexes = faults.dropSegmentIndexes;
  if (indexes === undefined || indexes.length === 0) return NO_INDEXES;
  for (const index of indexes) {
    if (!Number.isSafeInteger(index) || index < 0) throw new Error(`dropSegmentIndexes must hold non-negative integers, got ${index}`);
  }
  return new Set(indexes);
}
