// The internal potential energy of an OpenMM System, per frame and per force,
// with forces: evaluated in C++ (fused CPU kernel with analytic forces, or tensor
// expressions + autograd on other devices), exact against OpenMM for NoCutoff systems.
import type { Impl, NativeForceField } from '../../binding';
import { TcbmError, invalidType, outOfRange } from '../core/errors';
import { type EnergyTermName, type ForceField, loadForceField } from './system';
import { deviceName } from '../core/device';
import { defaultThreads, native } from '../core/native';
import { serialize } from '../core/queue';
import { type FloatArray, checkFinite, checkShape, floatArray, oneOf, positiveInteger, positiveNumber } from '../core/validate';
import type { Tensor } from '../model/voxel';

export type Precision = 'float32' | 'float64';

export interface EnergyOptions {
  /** also return forces −∂E/∂x [B,N,3] in kJ/mol/nm (of the clamped total when clamp is set) */
  forces?: boolean;
  /** arithmetic and output precision; default float64 (the coords are converted when they differ) */
  precision?: Precision;
  /** auto (fused kernel on CPU, tensor path elsewhere), fused, tensor (plain autograd) or reference (dense N×N nonbonded) */
  impl?: Impl;
  /** libtorch intra-op threads; default TCBM_THREADS or every core */
  threads?: number;
  /** libtorch device, e.g. "cpu" (default) or "cuda:0" */
  device?: string;
  /** soft clamp of each frame's total above this many kJ/mol (the paper uses 1e5 for chignolin): E → c + ln(1 + E − c) */
  clamp?: number;
}

export interface EnergyResult<A extends FloatArray = FloatArray> {
  frames: number;
  /** kJ/mol per frame (clamped when options.clamp is set) */
  total: A;
  /** kJ/mol per frame for each force, by OpenMM class name, in the System's force order */
  terms: Record<string, A>;
  /** −∂total/∂x, [B,N,3] kJ/mol/nm, when options.forces */
  forces?: Tensor<A>;
}

const IMPLS: readonly Impl[] = ['auto', 'fused', 'tensor', 'reference'];
const PRECISIONS: readonly Precision[] = ['float32', 'float64'];

/** A System's energy function, built once from its parameters and evaluated on batches of frames. */
export class Energy {
  /** energy columns, OpenMM class names in the System's force order */
  readonly terms: readonly EnergyTermName[];
  readonly particles: number;
  /** the native force field (what Trainer hands to the model for the γ energy term) */
  readonly handle: NativeForceField;

  private constructor(readonly forceField: ForceField) {
    if (forceField.cmap) {
      throw new TcbmError(
        'ERR_UNSUPPORTED',
        `${forceField.name}: CMAPTorsionForce energy is not implemented (its parameters parse, but energies without it would be wrong)`,
      );
    }
    this.terms = forceField.forceNames.slice();
    this.particles = forceField.particles.length;
    const { bonds, angles, torsions, nonbonded: nb } = forceField;
    this.handle = native().createForceField({
      particles: this.particles,
      terms: this.terms.slice(),
      bondIndex: interleave(bonds.p1, bonds.p2),
      bondLength: bonds.length,
      bondK: bonds.k,
      angleIndex: interleave(angles.p1, angles.p2, angles.p3),
      angleTheta: angles.angle,
      angleK: angles.k,
      torsionIndex: interleave(torsions.p1, torsions.p2, torsions.p3, torsions.p4),
      torsionPeriodicity: torsions.periodicity,
      torsionPhase: torsions.phase,
      torsionK: torsions.k,
      charge: nb.charge,
      sigma: nb.sigma,
      epsilon: nb.epsilon,
      exceptionIndex: interleave(nb.exceptions.p1, nb.exceptions.p2),
      exceptionChargeProd: nb.exceptions.chargeProd,
      exceptionSigma: nb.exceptions.sigma,
      exceptionEpsilon: nb.exceptions.epsilon,
    });
  }

  /** Reads an OpenMM System XML (XmlSerializer) and builds its energy function. */
  static async load(systemXmlPath: string): Promise<Energy> {
    return new Energy(await loadForceField(systemXmlPath));
  }

  static fromForceField(forceField: ForceField): Energy {
    return new Energy(forceField);
  }

  /** Nonbonded pairs evaluated per frame (all i<j minus the fully excluded ones). */
  get pairs(): number {
    return this.handle.pairs;
  }

  /** Energies of coords [B,N,3] nm, per frame: total, each force's term and optionally forces. */
  async evaluate(coords: Tensor, options: EnergyOptions = {}): Promise<EnergyResult> {
    const data = floatArray('coords.data', coords?.data);
    const shape = coords.shape;
    if (!Array.isArray(shape) || shape.length !== 3 || shape[1] !== this.particles || shape[2] !== 3) {
      throw outOfRange(`shape [B, ${this.particles}, 3] (the ${this.particles} particles of ${this.forceField.name})`, 'coords.shape', shape);
    }
    checkShape('coords', data, shape);
    checkFinite('coords', data, this.particles, 3);
    if (typeof options !== 'object' || options === null) throw invalidType('options object', 'options', options);
    const precision = options.precision === undefined ? 'float64' : oneOf('options.precision', options.precision, PRECISIONS);
    const impl = options.impl === undefined ? 'auto' : oneOf('options.impl', options.impl, IMPLS);
    const threads = options.threads === undefined ? defaultThreads() : positiveInteger('options.threads', options.threads);
    const device = options.device === undefined ? 'cpu' : deviceName(options.device);
    const clamp = options.clamp === undefined ? undefined : positiveNumber('options.clamp', options.clamp);
    const input = precision === 'float64' ? toFloat64(data) : toFloat32(data);
    const batch = shape[0];
    const out = await serialize(() =>
      this.handle.energy({ coords: input, batch, impl, threads, device, forces: options.forces === true, ...(clamp ? { clamp } : {}) }),
    );
    const T = this.terms.length;
    const terms: Record<string, FloatArray> = {};
    this.terms.forEach((name, t) => {
      const column = precision === 'float64' ? new Float64Array(batch) : new Float32Array(batch);
      for (let b = 0; b < batch; b++) column[b] = out.terms[b * T + t];
      terms[name] = column;
    });
    return {
      frames: batch,
      total: out.total,
      terms,
      ...(out.forces ? { forces: { data: out.forces, shape: [batch, this.particles, 3] } } : {}),
    };
  }

  /** Benchmark hook: ms of each of `repeats` energy + forces evaluations, timed in C++. */
  async time(coords: Tensor, options: { impl?: Impl; threads?: number; repeats: number; warmup?: number }): Promise<Float64Array> {
    const data = floatArray('coords.data', coords?.data);
    checkShape('coords', data, coords.shape);
    const impl = options.impl === undefined ? 'auto' : oneOf('options.impl', options.impl, IMPLS);
    const threads = options.threads === undefined ? defaultThreads() : positiveInteger('options.threads', options.threads);
    return serialize(() =>
      this.handle.time({ coords: data, batch: coords.shape[0], impl, threads, repeats: options.repeats, warmup: options.warmup }),
    );
  }
}

function isTag(x: FloatArray, tag: string): boolean {
  return Object.prototype.toString.call(x) === `[object ${tag}]`;
}

function toFloat64(x: FloatArray): Float64Array {
  return isTag(x, 'Float64Array') ? (x as Float64Array) : Float64Array.from(x);
}

function toFloat32(x: FloatArray): Float32Array {
  return isTag(x, 'Float32Array') ? (x as Float32Array) : Float32Array.from(x);
}

// [n] columns p1, p2, … -> [n, k] row-major, as the native side indexes them.
function interleave(...columns: Int32Array[]): Int32Array {
  const n = columns[0].length;
  const k = columns.length;
  const out = new Int32Array(n * k);
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) out[i * k + c] = columns[c][i];
  return out;
}
