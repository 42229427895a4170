/** The eleven states of RFC 9293 §3.3.2, and the edges of its Figure 5 plus the reset/abort edges of §3.10.7. */

export type TcpState =
  | 'CLOSED'
  | 'LISTEN'
  | 'SYN-SENT'
  | 'SYN-RECEIVED'
  | 'ESTABLISHED'
  | 'FIN-WAIT-1'
  | 'FIN-WAIT-2'
  | 'CLOSE-WAIT'
  | 'CLOSING'
  | 'LAST-ACK'
  | 'TIME-WAIT';

export const TCP_STATES: readonly TcpState[] = [
  'CLOSED',
  'LISTEN',
  'SYN-SENT',
  'SYN-RECEIVED',
  'ESTABLISHED',
  'FIN-WAIT-1',
  'FIN-WAIT-2',
  'CLOSE-WAIT',
  'CLOSING',
  'LAST-ACK',
  'TIME-WAIT',
];

export type Edge = `${TcpState}=>${TcpState}`;

/** Figure 5 of RFC 9293, edge by edge. */
export const DIAGRAM_EDGES: readonly Edge[] = [
  'CLOSED=>LISTEN', // passive OPEN
  'CLOSED=>SYN-SENT', // active OPEN, snd SYN
  'LISTEN=>CLOSED', // CLOSE
  'LISTEN=>SYN-RECEIVED', // rcv SYN, snd SYN,ACK
  'LISTEN=>SYN-SENT', // SEND, snd SYN
  'SYN-SENT=>SYN-RECEIVED', // rcv SYN (simultaneous open), snd SYN,ACK
  'SYN-SENT=>ESTABLISHED', // rcv SYN,ACK, snd ACK
  'SYN-SENT=>CLOSED', // CLOSE
  'SYN-RECEIVED=>LISTEN', // rcv RST (passive open)
  'SYN-RECEIVED=>ESTABLISHED', // rcv ACK of SYN
  'SYN-RECEIVED=>FIN-WAIT-1', // CLOSE, snd FIN
  'ESTABLISHED=>FIN-WAIT-1', // CLOSE, snd FIN
  'ESTABLISHED=>CLOSE-WAIT', // rcv FIN, snd ACK
  'FIN-WAIT-1=>FIN-WAIT-2', // rcv ACK of FIN
  'FIN-WAIT-1=>CLOSING', // rcv FIN, snd ACK (simultaneous close)
  'FIN-WAIT-2=>TIME-WAIT', // rcv FIN, snd ACK
  'CLOSING=>TIME-WAIT', // rcv ACK of FIN
  'CLOSE-WAIT=>LAST-ACK', // CLOSE, snd FIN
  'LAST-ACK=>CLOSED', // rcv ACK of FIN
  'TIME-WAIT=>CLOSED', // timeout = 2·MSL
];

/**
 * Edges the figure leaves out but the text allows: resets (§3.10.7.4 second check), ABORT
 * (§3.10.5), retransmission give-up (§3.8.3 R2), FIN in FIN-WAIT-1 that also ACKs ours
 * (§3.10.7.4 eighth check), and Linux's orphaned FIN-WAIT-2 timeout (tcp_fin_timeout). A reset in
 * LAST-ACK takes the figure's LAST-ACK=>CLOSED, so it is not listed again.
 */
export const EXTRA_EDGES: readonly Edge[] = [
  'SYN-RECEIVED=>CLOSED',
  'SYN-RECEIVED=>CLOSE-WAIT',
  'ESTABLISHED=>CLOSED',
  'FIN-WAIT-1=>CLOSED',
  'FIN-WAIT-1=>TIME-WAIT',
  'FIN-WAIT-2=>CLOSED',
  'CLOSE-WAIT=>CLOSED',
  'CLOSING=>CLOSED',
];

export const LEGAL_EDGES: ReadonlySet<Edge> = new Set([...DIAGRAM_EDGES, ...EXTRA_EDGES]);

/** States in which the connection is synchronized (RFC 9293 §3.5.2). */
export function isSynchronized(state: TcpState): boolean {
  return state !== 'CLOSED' && state !== 'LISTEN' && state !== 'SYN-SENT' && state !== 'SYN-RECEIVED';
}
