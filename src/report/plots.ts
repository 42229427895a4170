/**
 * The HTML report's campaign plots as plain, static SVG: stacked bars, stacked histograms and a
 * scatter plot. d3-scale and d3-array (ISC) do the arithmetic — domains, "nice" ticks, tick
 * labels, bins — here in Node, when the report is rendered; the output has no script at all.
 * Only the drawing (rectangles, circles, axis lines) is ours.
 *
 * Every function is pure: the same input gives the same bytes (no clock, no randomness, numbers
 * rounded to one decimal in attributes).
 */
import { bin, max } from 'd3-array';
import { scaleBand, scaleLinear, type ScaleLinear } from 'd3-scale';
import { esc } from './ladder.js';

/** One colour per group (suite), in order of first appearance: Tableau 10. */
export const PALETTE: readonly string[] = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export interface Group {
  readonly name: string;
  readonly color: string;
}

export interface PlotFrame {
  /** The `id` of the `<svg>` (and prefix of anything inside that needs one). */
  readonly id: string;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
}

/** Bars per category, each stacked by group: `values[g][c]` is group g's count in category c. */
export interface StackedBarsInput extends PlotFrame {
  readonly categories: readonly string[];
  readonly groups: readonly Group[];
  readonly values: readonly (readonly number[])[];
}

export interface HistogramInput extends PlotFrame {
  readonly groups: readonly Group[];
  /** `group` indexes `groups`. */
  readonly values: readonly { readonly value: number; readonly group: number }[];
  /** Dashed vertical lines (the 2·MSL values, say). */
  readonly references?: readonly { readonly x: number; readonly label: string }[];
  /** Whole-number bins (counts such as segments). */
  readonly integer?: boolean;
  /** How a bin's bounds read in its tooltip (`4 s`). */
  readonly unit?: string;
}

export interface ScatterInput extends PlotFrame {
  readonly groups: readonly Group[];
  readonly points: readonly { readonly x: number; readonly y: number; readonly group: number }[];
  /** Points are merged when they round to the same x at this many decimals (and same y, group). */
  readonly xDecimals?: number;
}

const WIDTH = 470;
const HEIGHT = 290;
const MARGIN = { top: 30, right: 18, bottom: 46, left: 58 } as const;
const INNER_W = WIDTH - MARGIN.left - MARGIN.right;
const INNER_H = HEIGHT - MARGIN.top - MARGIN.bottom;
const HALO = 'stroke="#ffffff" stroke-width="3" paint-order="stroke"';
const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

export function stackedBarsSvg(input: StackedBarsInput): string {
  const totals = input.categories.map((_, c) => input.values.reduce((sum, row) => sum + (row[c] ?? 0), 0));
  const yMax = Math.max(0, ...totals);
  const x = scaleBand<string>().domain(input.categories).range([0, INNER_W]).padding(0.3);
  const y = scaleLinear().domain([0, yMax > 0 ? yMax : 1]).nice().range([INNER_H, 0]);
  const out = open(input);
  out.push(yAxis(y));
  // Category labels under the bars (a band axis: no ticks of its own).
  for (const category of input.categories) {
    const cx = x(category)! + x.bandwidth() / 2;
    out.push(`<text x="${n(cx)}" y="${n(INNER_H + 16)}" text-anchor="middle" font-size="11">${esc(category)}</text>`);
  }
  out.push(`<line x1="0" y1="${n(INNER_H)}" x2="${INNER_W}" y2="${n(INNER_H)}" stroke="#333333"/>`);
  input.categories.forEach((category, c) => {
    let base = 0;
    input.groups.forEach((group, g) => {
      const value = input.values[g]?.[c] ?? 0;
      if (value <= 0) return;
      const y0 = y(base);
      const y1 = y(base + value);
      base += value;
      out.push(
        `<rect class="bar" x="${n(x(category)!)}" y="${n(y1)}" width="${n(x.bandwidth())}" height="${n(Math.max(0.5, y0 - y1))}" fill="${group.color}"><title>${esc(`${category}, ${group.name}: ${value}`)}</title></rect>`,
      );
    });
    const total = totals[c]!;
    out.push(`<text class="total" x="${n(x(category)! + x.bandwidth() / 2)}" y="${n(y(total) - 4)}" text-anchor="middle" font-size="11" font-weight="bold">${total}</text>`);
  });
  if (yMax === 0) out.push(noData());
  return close(out);
}

export function histogramSvg(input: HistogramInput): string {
  const values = input.values.map((v) => v.value);
  const references = input.references ?? [];
  // d3's max, not Math.max(...values): a campaign has more values than a call has arguments.
  const xMaxData = Math.max(0, max(values) ?? 0, max(references, (r) => r.x) ?? 0);
  let x = scaleLinear().domain([0, xMaxData > 0 ? xMaxData : 1]).nice(20).range([0, INNER_W]);
  let thresholds = x.ticks(20);
  if (input.integer === true) {
    // Whole-number bins: width 1, 2, 5, 10... so that at most ~25 bins cover the range.
    const top = Math.ceil(xMaxData) + 1;
    const step = niceStep(top / 25);
    const last = Math.ceil(top / step) * step;
    x = scaleLinear().domain([0, last]).range([0, INNER_W]);
    thresholds = [];
    for (let t = 0; t <= last; t += step) thresholds.push(t);
  }
  const [d0, d1] = x.domain() as [number, number];
  // The last bin is closed on the right by d3, so a value equal to the top still lands in one.
  const bins = bin<{ value: number; group: number }, number>()
    .value((v) => v.value)
    .domain([d0, d1])
    .thresholds(thresholds)(input.values.slice());
  const stacks = bins.map((b) => {
    const counts = input.groups.map(() => 0);
    for (const v of b) counts[v.group] = (counts[v.group] ?? 0) + 1;
    return { x0: b.x0 ?? d0, x1: b.x1 ?? d1, counts, total: b.length };
  });
  const yMax = Math.max(0, ...stacks.map((s) => s.total));
  const y = scaleLinear().domain([0, yMax > 0 ? yMax : 1]).nice().range([INNER_H, 0]);
  const out = open(input);
  out.push(yAxis(y));
  out.push(xAxis(x));
  const unit = input.unit === undefined ? '' : ` ${input.unit}`;
  for (const s of stacks) {
    if (s.total === 0) continue;
    let base = 0;
    const range = input.integer === true && s.x1 - s.x0 === 1 ? `${s.x0}${unit}` : `${fmt(s.x0)}–${fmt(s.x1)}${unit}`;
    s.counts.forEach((count, g) => {
      if (count === 0) return;
      const y0 = y(base);
      const y1 = y(base + count);
      base += count;
      const group = input.groups[g]!;
      out.push(
        `<rect class="bar" x="${n(x(s.x0) + 0.5)}" y="${n(y1)}" width="${n(Math.max(1, x(s.x1) - x(s.x0) - 1))}" height="${n(Math.max(0.5, y0 - y1))}" fill="${group.color}"><title>${esc(`${range}, ${group.name}: ${count}`)}</title></rect>`,
      );
    });
  }
  references.forEach((ref, i) => {
    const rx = x(ref.x);
    // Beside its line, on the left near the right edge; every other label one line lower, so
    // neighbours do not overlap.
    const left = rx + 3 + ref.label.length * 5.5 > INNER_W;
    const ty = 10 + 12 * (i % 2);
    out.push(
      `<g class="reference"><line x1="${n(rx)}" y1="0" x2="${n(rx)}" y2="${INNER_H}" stroke="#333333" stroke-dasharray="4 3"/><text x="${n(left ? rx - 3 : rx + 3)}" y="${ty}" text-anchor="${left ? 'end' : 'start'}" font-size="10" fill="#333333" ${HALO}>${esc(ref.label)}</text></g>`,
    );
  });
  if (values.length === 0) out.push(noData());
  return close(out);
}

export function scatterSvg(input: ScatterInput): string {
  const decimals = input.xDecimals ?? 1;
  // Merge points that would overlap exactly; the circle's area then grows with the count.
  const merged = new Map<string, { x: number; y: number; group: number; count: number }>();
  for (const p of input.points) {
    const px = Number(p.x.toFixed(decimals));
    const key = `${px}|${p.y}|${p.group}`;
    const seen = merged.get(key);
    if (seen === undefined) merged.set(key, { x: px, y: p.y, group: p.group, count: 1 });
    else seen.count++;
  }
  const xMax = Math.max(0, ...input.points.map((p) => p.x));
  const yMax = Math.max(0, ...input.points.map((p) => p.y));
  const x = scaleLinear().domain([0, xMax > 0 ? xMax : 1]).nice().range([0, INNER_W]);
  const y = scaleLinear().domain([0, yMax > 0 ? yMax : 1]).nice().range([INNER_H, 0]);
  const out = open(input);
  out.push(yAxis(y));
  out.push(xAxis(x));
  for (const p of merged.values()) {
    const group = input.groups[p.group]!;
    const r = Math.min(12, 2.5 * Math.sqrt(p.count));
    out.push(
      `<circle class="point" cx="${n(x(p.x))}" cy="${n(y(p.y))}" r="${n(r)}" fill="${group.color}" fill-opacity="0.6" stroke="${group.color}"><title>${esc(`${group.name}: ${p.count} run${p.count === 1 ? '' : 's'} at ${fmt(p.x)}, ${p.y}`)}</title></circle>`,
    );
  }
  if (input.points.length === 0) out.push(noData());
  return close(out);
}

// -----------------------------------------------------------------------------------------
// Frame and axes
// -----------------------------------------------------------------------------------------

function open(frame: PlotFrame): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" id="${esc(frame.id)}" class="plot" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="${FONT}" font-size="11" role="img" aria-label="${esc(frame.title)}">`,
    `<title>${esc(frame.title)}</title>`,
    `<rect x="0" y="0" width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="17" text-anchor="middle" font-size="13" font-weight="bold">${esc(frame.title)}</text>`,
    `<text x="${n(MARGIN.left + INNER_W / 2)}" y="${HEIGHT - 8}" text-anchor="middle" fill="#333333">${esc(frame.xLabel)}</text>`,
    `<text transform="translate(14 ${n(MARGIN.top + INNER_H / 2)}) rotate(-90)" text-anchor="middle" fill="#333333">${esc(frame.yLabel)}</text>`,
    `<g transform="translate(${MARGIN.left} ${MARGIN.top})">`,
  ];
}

function close(out: string[]): string {
  out.push('</g>', '</svg>');
  return out.join('\n');
}

function noData(): string {
  return `<text class="no-data" x="${n(INNER_W / 2)}" y="${n(INNER_H / 2)}" text-anchor="middle" fill="#888888" font-style="italic">no data</text>`;
}

function yAxis(y: ScaleLinear<number, number>): string {
  const format = y.tickFormat(5);
  const parts = ['<g class="axis y">'];
  for (const t of y.ticks(5)) {
    const ty = y(t);
    parts.push(`<line x1="0" y1="${n(ty)}" x2="${INNER_W}" y2="${n(ty)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="-6" y="${n(ty + 4)}" text-anchor="end" fill="#555555">${esc(format(t))}</text>`);
  }
  parts.push(`<line x1="0" y1="0" x2="0" y2="${INNER_H}" stroke="#333333"/>`, '</g>');
  return parts.join('');
}

function xAxis(x: ScaleLinear<number, number>): string {
  const format = x.tickFormat(8);
  const parts = ['<g class="axis x">', `<line x1="0" y1="${INNER_H}" x2="${INNER_W}" y2="${INNER_H}" stroke="#333333"/>`];
  for (const t of x.ticks(8)) {
    const tx = x(t);
    parts.push(`<line x1="${n(tx)}" y1="${INNER_H}" x2="${n(tx)}" y2="${INNER_H + 5}" stroke="#333333"/>`);
    parts.push(`<text x="${n(tx)}" y="${INNER_H + 17}" text-anchor="middle" fill="#555555">${esc(format(t))}</text>`);
  }
  parts.push('</g>');
  return parts.join('');
}

/** 1, 2, 5, 10, 20, 50... at least `raw` (and at least 1). */
function niceStep(raw: number): number {
  if (raw <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

/** A bin bound or a point's x in a tooltip: at most three decimals, no trailing zeros. */
function fmt(value: number): string {
  return String(Number(value.toFixed(3)));
}

/** Numbers in attributes: at most one decimal, no `-0`. */
function n(value: number): string {
  const rounded = Math.round(value * 10) / 10;
  return String(rounded === 0 ? 0 : rounded);
}
