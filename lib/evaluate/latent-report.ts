// The report's "Latent space" section (evaluate --model): the posterior means of the reference pairs
// in their PCA plane, coloured by the frame's internal energy, with the model's latent mixture
// (component means and 2σ ellipses) projected onto the same plane; and the KL per dimension.
import * as path from 'path';
import type { TopLevelSpec } from 'vega-lite';
import { esc, fmt, pct, renderSvg } from './html';
import type { LatentSection } from './metrics';

/** Points along each component's 2σ ellipse, in drawing order. */
function ellipseRows(l: LatentSection, steps = 72): { x: number; y: number; component: number; order: number }[] {
  return l.mixture.flatMap((c, component) => {
    const [a, b] = c.ellipse.semiAxes;
    const phi = (c.ellipse.angleDeg * Math.PI) / 180;
    return Array.from({ length: steps + 1 }, (_, order) => {
      const t = (2 * Math.PI * order) / steps;
      const u = a * Math.cos(t);
      const v = b * Math.sin(t);
      return { x: c.mean[0] + u * Math.cos(phi) - v * Math.sin(phi), y: c.mean[1] + u * Math.sin(phi) + v * Math.cos(phi), component, order };
    });
  });
}

/** The 2nd and 98th percentiles: a colour scale a few outlying frames do not wash out. */
function colourDomain(values: (number | null)[]): [number, number] | undefined {
  const v = values.filter((x): x is number => x !== null).sort((p, q) => p - q);
  if (v.length === 0) return undefined;
  const lo = v[Math.floor(0.02 * (v.length - 1))];
  const hi = v[Math.ceil(0.98 * (v.length - 1))];
  return hi > lo ? [lo, hi] : undefined;
}

function axisTitle(l: LatentSection, k: number): string {
  const f = l.explainedVariance[k];
  return f === null || f === undefined ? `PC ${k + 1}` : `PC ${k + 1} (${(100 * f).toFixed(1)} %)`;
}

/** Scatter of the posterior means coloured by energy; with `mixture`, the component means and 2σ ellipses on top. */
function planeSpec(l: LatentSection, mixture: boolean, title: string): TopLevelSpec {
  const points = l.points.pc1.map((x, i) => ({ x, y: l.points.pc2[i], energy: l.points.energy[i] }));
  const x = { field: 'x', type: 'quantitative' as const, title: axisTitle(l, 0), scale: { zero: false } };
  const y = { field: 'y', type: 'quantitative' as const, title: axisTitle(l, 1), scale: { zero: false } };
  const domain = colourDomain(l.points.energy);
  const layers: TopLevelSpec[] = [
    {
      name: 'posteriors',
      data: { values: points },
      mark: { type: 'circle', size: 14, opacity: 0.75 },
      encoding: {
        x,
        y,
        color: {
          field: 'energy', type: 'quantitative', title: `reference energy (${l.energyUnit})`,
          scale: { scheme: 'viridis', ...(domain ? { domain, clamp: true } : {}) },
          legend: { orient: 'right', gradientLength: 200, titleLimit: 260 },
        },
      },
    } as TopLevelSpec,
  ];
  if (mixture) {
    layers.push(
      {
        name: 'ellipses',
        data: { values: ellipseRows(l) },
        mark: { type: 'line', color: '#d62728', strokeWidth: 1.2, opacity: 0.8 },
        encoding: { x, y, detail: { field: 'component', type: 'nominal' }, order: { field: 'order', type: 'quantitative' } },
      } as TopLevelSpec,
      {
        name: 'mixtureMeans',
        data: { values: l.mixture.map((c, k) => ({ x: c.mean[0], y: c.mean[1], component: k + 1, weight: c.weight })) },
        mark: { type: 'point', shape: 'cross', filled: true, color: '#d62728', stroke: 'white', strokeWidth: 0.5, size: 110 },
        encoding: { x, y },
      } as TopLevelSpec,
    );
  }
  return { title: { text: title, fontSize: 12 }, width: 420, height: 360, layer: layers } as TopLevelSpec;
}

function klSpec(l: LatentSection): TopLevelSpec {
  return {
    title: { text: `KL per latent dimension: total ${fmt(l.kl.total)} nats, ${l.kl.activeDimensions} of ${l.dimensions} above 0.01`, fontSize: 12 },
    width: Math.max(240, Math.min(640, l.dimensions * 18)),
    height: 180,
    data: { values: l.kl.perDimension.map((kl, d) => ({ dimension: d + 1, kl })) },
    mark: { type: 'bar', color: '#555' },
    encoding: {
      x: { field: 'dimension', type: 'ordinal', title: 'latent dimension', axis: { labelAngle: 0 } },
      y: { field: 'kl', type: 'quantitative', title: 'mean KL to N(0, 1) (nats)' },
    },
  };
}

/** Extent of the points relative to the extent of points and ellipses together: small when the mixture dwarfs the posteriors. */
function pointShare(l: LatentSection): number {
  const range = (v: number[]) => Math.max(...v) - Math.min(...v);
  const e = ellipseRows(l, 16);
  const px = range(l.points.pc1);
  const py = range(l.points.pc2);
  const ax = range([...l.points.pc1, ...e.map((r) => r.x)]);
  const ay = range([...l.points.pc2, ...e.map((r) => r.y)]);
  return Math.max(ax > 0 ? px / ax : 1, ay > 0 ? py / ay : 1);
}

/** The section's HTML ('' without a model). */
export async function latentBlock(l: LatentSection | undefined): Promise<string> {
  if (!l) return '';
  const zoom = l.mixture.length > 0 && l.points.pc1.length > 1 && pointShare(l) < 0.1;
  const [plane, zoomed, kl] = await Promise.all([
    renderSvg(planeSpec(l, true, `posterior means of ${l.pairs} reference pairs and the latent mixture (2σ)`)),
    zoom ? renderSvg(planeSpec(l, false, 'posterior means only (zoomed)')) : Promise.resolve(''),
    renderSvg(klSpec(l)),
  ]);
  const [f1, f2] = l.explainedVariance;
  const samples = l.previousFrame ? 'pairs (A(t−1), A(t), C(t))' : 'frames (A(t), C(t); a frame-based model)';
  return `<h2>Latent space</h2>
<p class="note">Model <b>${esc(path.basename(l.model))}</b>: its encoder's posteriors N(μ, σ²) of ${l.pairs.toLocaleString('en-US')} of the ${l.available.toLocaleString('en-US')} reference ${samples}, placed as in training.
PCA of the means μ (${l.dimensions} dimensions): PC 1 and PC 2 explain ${pct(f1)} and ${pct(f2)} of their variance; ${l.points.pc1.length} points shown, coloured by the frame's total internal energy.
The mixture that inference draws z from (${l.mixture.length} components, crosses) is projected onto the same plane: each component's mean and the ellipse of 2σ of its covariance P Σ Pᵀ.
Mean KL to N(0, 1): ${fmt(l.kl.total)} nats in all, ${l.kl.activeDimensions} of ${l.dimensions} dimensions above 0.01 nats${l.kl.activeDimensions === 0 ? ' (the posteriors match the prior: z carries no information about the frames)' : ''}.</p>
<div class="plots">${plane}${zoomed}${kl}</div>`;
}
