// Line and point charts as hand-written SVG (no plotting package): axes with round ticks, a legend, optional
// error bars. Enough for the experiment report's plots, which a browser or image viewer opens.

export interface ChartPoint {
  x: number;
  y: number;
  /** Error bar bounds (e.g. a 95% interval). */
  lo?: number;
  hi?: number;
}

export interface Series {
  name: string;
  points: ChartPoint[];
  /** 'line' joins the points; 'points' draws them alone (a frontier of methods). */
  style?: 'line' | 'points';
  dashed?: boolean;
}

export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Fixed y range (e.g. [0, 1] for rates); otherwise from the data. */
  yRange?: [number, number];
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const W = 760;
const H = 440;
const M = { left: 70, right: 220, top: 40, bottom: 56 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (v: number) => Number(v.toFixed(2));

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * step; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

const label = (v: number) => (Math.abs(v) >= 1000 ? `${Number((v / 1000).toPrecision(3))}k` : String(Number(v.toPrecision(3))));

export function renderChart(chart: Chart): string {
  const pts = chart.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xs = pts.map((p) => p.x);
  const ys = pts.flatMap((p) => [p.y, p.lo ?? p.y, p.hi ?? p.y]);
  let [x0, x1] = xs.length ? [Math.min(0, ...xs), Math.max(...xs)] : [0, 1];
  if (x1 <= x0) x1 = x0 + 1;
  let [y0, y1] = chart.yRange ?? (ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1]);
  if (y1 <= y0) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const xt = niceTicks(x0, x1);
  const yt = niceTicks(y0, y1);
  [x0, x1] = [Math.min(x0, xt[0]), Math.max(x1, xt[xt.length - 1])];
  [y0, y1] = [Math.min(y0, yt[0]), Math.max(y1, yt[yt.length - 1])];
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number) => num(M.left + ((x - x0) / (x1 - x0)) * pw);
  const sy = (y: number) => num(M.top + ph - ((y - y0) / (y1 - y0)) * ph);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="24" font-size="15" font-weight="bold">${esc(chart.title)}</text>`,
  ];
  for (const t of xt)
    out.push(
      `<line x1="${sx(t)}" y1="${M.top}" x2="${sx(t)}" y2="${M.top + ph}" stroke="#e5e5e5"/>`,
      `<text x="${sx(t)}" y="${M.top + ph + 18}" text-anchor="middle">${label(t)}</text>`,
    );
  for (const t of yt)
    out.push(
      `<line x1="${M.left}" y1="${sy(t)}" x2="${M.left + pw}" y2="${sy(t)}" stroke="#e5e5e5"/>`,
      `<text x="${M.left - 8}" y="${sy(t) + 4}" text-anchor="end">${label(t)}</text>`,
    );
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${M.left + pw / 2}" y="${H - 14}" text-anchor="middle">${esc(chart.xLabel)}</text>`,
    `<text transform="translate(18 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(chart.yLabel)}</text>`,
  );
  chart.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const ok = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    if (s.style !== 'points' && ok.length > 1) {
      const d = ok.map((p, j) => `${j ? 'L' : 'M'}${sx(p.x)} ${sy(p.y)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    }
    for (const p of ok) {
      if (p.lo !== undefined && p.hi !== undefined && Number.isFinite(p.lo) && Number.isFinite(p.hi))
        out.push(`<line x1="${sx(p.x)}" y1="${sy(p.lo)}" x2="${sx(p.x)}" y2="${sy(p.hi)}" stroke="${color}" stroke-width="1.5"/>`);
      out.push(`<circle cx="${sx(p.x)}" cy="${sy(p.y)}" r="${s.style === 'points' ? 5 : 3}" fill="${color}"/>`);
    }
    const ly = M.top + 10 + i * 20;
    out.push(
      `<line x1="${W - M.right + 14}" y1="${ly}" x2="${W - M.right + 38}" y2="${ly}" stroke="${color}" stroke-width="3"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${W - M.right + 44}" y="${ly + 4}">${esc(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
