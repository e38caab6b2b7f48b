// Draws the autoscaling benchmark's timeline as a standalone SVG: three stacked panels (rates, lag, workers) sharing the time axis.
import type { ScaleEvent, TimelinePoint } from './autoscale-report.ts';
import { coord as num, escapeXml as esc } from './svg.ts';

export interface TimelineChart {
  title: string;
  /** Lines under the title (the figures). */
  subtitle: readonly string[];
  points: readonly TimelinePoint[];
  events: readonly ScaleEvent[];
  /** Vertical markers, e.g. the step and the end of the load. */
  marks: readonly { t: number; label: string }[];
  /** Top of the units panel (its scale goes to maxWorkers + 1). */
  maxWorkers: number;
  /** What the units panel counts: 'workers' (CPU worker threads, the default) or 'replicas' (processes). */
  unit?: 'workers' | 'replicas';
}

interface Series {
  label: string;
  color: string;
  values: (number | null)[];
  /**
   * Step lines for piecewise-constant values: 'after' holds a sampled state until the next sample (counts); 'before'
   * draws a value that covers the interval ending at its sample (the scheduled rate of that second). Default: straight segments.
   */
  step?: 'before' | 'after';
  dash?: string;
  width?: number;
}

const W = 960;
const LEFT = 64;
const RIGHT = 150;
const PANEL_H = 150;
const GAP = 46;
const TOP = 104;


/** Round tick spacing: 1, 2 or 5 × 10^k, about `count` ticks up to max. */
function niceStep(max: number, count: number): number {
  const raw = max / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

function panel(y0: number, title: string, unit: string, ts: number[], tMax: number, yMax: number, series: Series[], integerTicks = false): string {
  const x = (t: number) => LEFT + (t / tMax) * (W - LEFT - RIGHT);
  const y = (v: number) => y0 + PANEL_H - (v / yMax) * PANEL_H;
  const out: string[] = [];
  out.push(`<text x="${LEFT}" y="${y0 - 8}" class="panel">${esc(title)}</text>`);
  // Y grid and labels.
  const step = integerTicks ? Math.max(1, Math.ceil(yMax / 4)) : niceStep(yMax, 4);
  for (let v = 0; v <= yMax + 1e-9; v += step) {
    out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${num(y(v))}" y2="${num(y(v))}" class="grid"/>`);
    out.push(`<text x="${LEFT - 6}" y="${num(y(v) + 4)}" class="tick" text-anchor="end">${num(v)}</text>`);
  }
  out.push(`<text x="14" y="${y0 + PANEL_H / 2}" class="unit" transform="rotate(-90 14 ${y0 + PANEL_H / 2})" text-anchor="middle">${esc(unit)}</text>`);
  // X ticks (labels only under the last panel; the caller adds them).
  out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y0 + PANEL_H}" y2="${y0 + PANEL_H}" class="axis"/>`);
  out.push(`<line x1="${LEFT}" x2="${LEFT}" y1="${y0}" y2="${y0 + PANEL_H}" class="axis"/>`);
  series.forEach((s, i) => {
    const pts: string[] = [];
    let prev: [number, number] | undefined;
    s.values.forEach((v, j) => {
      if (v === null) return;
      const px = x(ts[j]!);
      const py = y(Math.min(v, yMax));
      if (s.step === 'after' && prev) pts.push(`${num(px)},${num(prev[1])}`);
      if (s.step === 'before' && prev) pts.push(`${num(prev[0])},${num(py)}`);
      pts.push(`${num(px)},${num(py)}`);
      prev = [px, py];
    });
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="${s.width ?? 1.8}"${dash}/>`);
    const ly = y0 + 12 + i * 18;
    out.push(`<line x1="${W - RIGHT + 12}" x2="${W - RIGHT + 34}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="${s.width ?? 1.8}"${dash}/>`);
    out.push(`<text x="${W - RIGHT + 40}" y="${ly}" class="legend">${esc(s.label)}</text>`);
  });
  return out.join('\n');
}

export function renderTimelineSvg(c: TimelineChart): string {
  const ts = c.points.map((p) => p.t);
  const tMax = Math.max(10, Math.ceil((ts.at(-1) ?? 10) / 10) * 10);
  const rateMax = niceCeil(Math.max(1, ...c.points.flatMap((p) => [p.scheduled, p.arrival, p.completion])) * 1.1);
  const lagMax = niceCeil(Math.max(10, ...c.points.flatMap((p) => [p.lag, 2 * p.scheduled])) * 1.1);
  const workersMax = c.maxWorkers + 1;
  const y1 = TOP;
  const y2 = y1 + PANEL_H + GAP;
  const y3 = y2 + PANEL_H + GAP;
  const H = y3 + PANEL_H + 56;
  const x = (t: number) => LEFT + (t / tMax) * (W - LEFT - RIGHT);

  const body: string[] = [];
  body.push(
    panel(y1, 'Load: images/s', 'images/s', ts, tMax, rateMax, [
      { label: 'scheduled', color: '#9aa0a6', values: c.points.map((p) => p.scheduled), step: 'before', dash: '5 4' },
      { label: 'arrival', color: '#1a73e8', values: c.points.map((p) => p.arrival) },
      { label: 'completion', color: '#188038', values: c.points.map((p) => p.completion) },
    ]),
  );
  body.push(
    panel(y2, 'Consumer lag (log end − committed)', 'records', ts, tMax, lagMax, [
      { label: 'lag', color: '#d93025', values: c.points.map((p) => p.lag) },
      { label: '2 s of arrivals', color: '#9aa0a6', values: c.points.map((p) => 2 * p.scheduled), step: 'before', dash: '5 4' },
    ]),
  );
  body.push(
    panel(
      y3,
      c.unit === 'replicas' ? 'replica processes (one worker each)' : 'CPU workers',
      c.unit ?? 'workers',
      ts,
      tMax,
      workersMax,
      [
        { label: 'active', color: '#202124', values: c.points.map((p) => p.workers), step: 'after', width: 2.4 },
        { label: "policy's wish", color: '#9334e6', values: c.points.map((p) => p.wish), step: 'after', dash: '6 3' },
        { label: 'oracle', color: '#f29900', values: c.points.map((p) => p.oracle), step: 'before', dash: '2 3' },
        { label: 'runner CPU-s/s', color: '#80868b', values: c.points.map((p) => p.cpu), width: 1 },
        { label: 'machine CPU-s/s', color: '#c5c8cc', values: c.points.map((p) => p.machineCpu), width: 1 },
      ],
      true,
    ),
  );
  // Time axis under the last panel, and marks across all panels.
  const tStep = niceStep(tMax, 10);
  for (let t = 0; t <= tMax + 1e-9; t += tStep) {
    body.push(`<line x1="${num(x(t))}" x2="${num(x(t))}" y1="${y3 + PANEL_H}" y2="${y3 + PANEL_H + 4}" class="axis"/>`);
    body.push(`<text x="${num(x(t))}" y="${y3 + PANEL_H + 18}" class="tick" text-anchor="middle">${num(t)}</text>`);
  }
  body.push(`<text x="${(LEFT + W - RIGHT) / 2}" y="${y3 + PANEL_H + 38}" class="unit" text-anchor="middle">seconds since the load started</text>`);
  for (const m of c.marks) {
    body.push(`<line x1="${num(x(m.t))}" x2="${num(x(m.t))}" y1="${y1 - 4}" y2="${y3 + PANEL_H}" class="mark"/>`);
    body.push(`<text x="${num(x(m.t) + 3)}" y="${y1 + PANEL_H + 14}" class="marklabel">${esc(m.label)}</text>`);
  }
  for (const e of c.events) {
    const change = /scale (?:up|down) (\d+→\d+)/.exec(e.line)?.[1] ?? '';
    body.push(`<circle cx="${num(x(e.t))}" cy="${y3 + 6}" r="3.5" fill="#9334e6"><title>${esc(`${num(e.t)} s: ${e.line}`)}</title></circle>`);
    body.push(`<text x="${num(x(e.t) + 6)}" y="${y3 + 10}" class="marklabel">${esc(change)}</text>`);
  }

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">
<style>
.title { font-size: 17px; font-weight: 600; fill: #202124 }
.subtitle { font-size: 12px; fill: #5f6368 }
.panel { font-size: 13px; font-weight: 600; fill: #3c4043 }
.tick, .legend { font-size: 11px; fill: #5f6368 }
.unit { font-size: 11px; fill: #5f6368 }
.grid { stroke: #e8eaed; stroke-width: 1 }
.axis { stroke: #5f6368; stroke-width: 1 }
.mark { stroke: #5f6368; stroke-width: 1; stroke-dasharray: 2 3 }
.marklabel { font-size: 10px; fill: #5f6368 }
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="${LEFT}" y="26" class="title">${esc(c.title)}</text>
${c.subtitle.map((line, i) => `<text x="${LEFT}" y="${46 + i * 16}" class="subtitle">${esc(line)}</text>`).join('\n')}
${body.join('\n')}
</svg>
`;
}

function niceCeil(v: number): number {
  const s = niceStep(v, 5);
  return Math.ceil(v / s) * s;
}
