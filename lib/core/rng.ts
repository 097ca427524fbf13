// The training run's one source of randomness (batches, rotations, latent noise),
// with a state that checkpoints save so --resume continues the same sequence.
// xoshiro128** (Blackman & Vigna), seeded through splitmix32.

/** The rotation matrix (row-major 3x3) of the unit quaternion a + bi + cj + dk: shared by random rotations and superposition. */
export function quaternionRotation(a: number, b: number, c: number, d: number): Float64Array {
  return Float64Array.of(
    a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c),
    2 * (b * c + a * d), a * a - b * b + c * c - d * d, 2 * (c * d - a * b),
    2 * (b * d - a * c), 2 * (c * d + a * b), a * a - b * b - c * c + d * d,
  );
}

export class Rng {
  private s: Uint32Array;
  private spare: number | undefined;

  constructor(seed: number) {
    this.s = new Uint32Array(4);
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal (polar Box–Muller; the second value is kept for the next call). */
  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    let u = 0;
    let v = 0;
    let r = 0;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      r = u * u + v * v;
    } while (r >= 1 || r === 0);
    const f = Math.sqrt((-2 * Math.log(r)) / r);
    this.spare = v * f;
    return u * f;
  }

  /** Fills `out` with standard normals. */
  normals(out: Float32Array): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.normal();
    return out;
  }

  /** A uniformly random rotation matrix (row-major 3x3) from a random unit quaternion. */
  rotation(): Float64Array {
    let a = 0, b = 0, c = 0, d = 0, n = 0;
    do {
      a = this.normal();
      b = this.normal();
      c = this.normal();
      d = this.normal();
      n = Math.hypot(a, b, c, d);
    } while (n < 1e-9);
    return quaternionRotation(a / n, b / n, c / n, d / n);
  }

  /** The full state, for checkpoints. */
  state(): number[] {
    return [...this.s, this.spare === undefined ? NaN : this.spare];
  }

  /**
   * Stream `stream` of `seed`: stream 0 is new Rng(seed) itself; the others are
   * independent generators (the state words mixed with the stream's splitmix),
   * e.g. one per segment of a trajectory, so a segment's draws do not depend on
   * how many segments share the run.
   */
  static stream(seed: number, stream: number): Rng {
    const r = new Rng(seed);
    if (stream === 0) return r;
    let x = Math.imul(stream >>> 0, 0x9e3779b9) >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x7f4a7c15) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 15), 0x2c1b3c6d) >>> 0;
      z = Math.imul(z ^ (z >>> 12), 0x297a2d39) >>> 0;
      r.s[i] ^= (z ^ (z >>> 15)) >>> 0;
    }
    if (r.s.every((w) => w === 0)) r.s[0] = 1; // xoshiro's one forbidden state
    return r;
  }

  static fromState(state: number[]): Rng {
    const r = new Rng(0);
    r.s = Uint32Array.from(state.slice(0, 4));
    r.spare = Number.isNaN(state[4]) || state[4] === null ? undefined : state[4];
    return r;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
