/**
 * TCP options (RFC 9293 §3.2, §3.7.1): what our SYN and SYN,ACK carry and what we take from
 * the peer's. Today that is the MSS option alone.
 */
import type { Segment } from './segment.js';
import { TcbBase, type SegmentFields } from './tcb-base.js';

export abstract class TcbOptionsPart extends TcbBase {
  /** The peer's MSS option; 536 when it sent none (RFC 9293 §3.7.1, RFC 1122 §4.2.2.6). */
  peerMss = 536;

  /** Take the options of the peer's SYN or SYN,ACK. */
  protected takeSynOptions(seg: Segment): void {
    if (seg.mss > 0) this.peerMss = seg.mss;
  }

  /** C1/C2: our SYN and SYN,ACK carry the MSS option. */
  protected addSynOptions(fields: SegmentFields): void {
    fields.mss = this.config.mss;
  }

  /** The largest payload we send: the smaller of the peer's MSS and ours. */
  protected sendMss(): number {
    return Math.min(this.peerMss, this.config.mss);
  }
}
