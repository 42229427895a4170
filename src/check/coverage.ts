/** How often each RFC 9293 edge was taken, so users see which edges their runs never reach. */
import { DIAGRAM_EDGES, EXTRA_EDGES, type Edge } from '../tcp/state.js';
import type { TraceEvent, TraceListener } from '../world/trace.js';

export class EdgeCoverage implements TraceListener {
  readonly counts = new Map<Edge, number>();

  constructor() {
    for (const edge of [...DIAGRAM_EDGES, ...EXTRA_EDGES]) this.counts.set(edge, 0);
  }

  onEvent(event: TraceEvent): void {
    if (event.type === 'state') this.add(`${event.from}=>${event.to}` as Edge, 1);
    else if (event.type === 'listen') this.add(`${event.from}=>${event.to}` as Edge, 1);
  }

  add(edge: Edge, count: number): void {
    this.counts.set(edge, (this.counts.get(edge) ?? 0) + count);
  }

  merge(other: EdgeCoverage): void {
    for (const [edge, count] of other.counts) this.add(edge, count);
  }

  /** Edges of Figure 5 never taken. */
  missingDiagramEdges(): Edge[] {
    return DIAGRAM_EDGES.filter((edge) => (this.counts.get(edge) ?? 0) === 0);
  }

  coveredCount(): number {
    let covered = 0;
    for (const count of this.counts.values()) if (count > 0) covered++;
    return covered;
  }
}
