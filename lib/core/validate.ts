// Argument checks run in TypeScript before anything crosses into C++.
import { invalidType, outOfRange } from './errors';

export type FloatArray = Float32Array | Float64Array;

export function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number') throw invalidType('positive integer', name, value);
  if (!Number.isSafeInteger(value) || value < 1) throw outOfRange('positive integer', name, value);
  return value;
}

export function positiveNumber(name: string, value: unknown): number {
  if (typeof value !== 'number') throw invalidType('positive number', name, value);
  if (!Number.isFinite(value) || value <= 0) throw outOfRange('positive finite number', name, value);
  return value;
}

export function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string') throw invalidType(`one of ${allowed.join(', ')}`, name, value);
  if (!allowed.includes(value as T)) throw outOfRange(`one of ${allowed.join(', ')}`, name, value);
  return value as T;
}

export function floatArray(name: string, value: unknown): FloatArray {
  if (value instanceof Float32Array || value instanceof Float64Array) return value;
  // Arrays made in another realm (vm contexts, Jest) fail instanceof but are still typed arrays.
  const tag = Object.prototype.toString.call(value);
  if (tag === '[object Float32Array]' || tag === '[object Float64Array]') return value as FloatArray;
  throw invalidType('Float32Array or Float64Array', name, value);
}

/** A tensor's data and dims must agree: shape [d0, d1, …] holds d0·d1·… elements. */
export function checkShape(name: string, data: FloatArray, shape: readonly number[]): void {
  shape.forEach((d, i) => positiveInteger(`${name}.shape[${i}]`, d));
  const expected = shape.reduce((a, b) => a * b, 1);
  if (data.length !== expected) {
    throw outOfRange(`${expected} elements for shape [${shape.join(', ')}]`, `${name}.data`, data);
  }
}

/** RangeError naming the first frame and particle whose values are NaN or infinite. */
export function checkFinite(name: string, data: FloatArray, particles: number, perParticle: number): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      const particle = Math.floor(i / perParticle);
      throw Object.assign(
        new RangeError(
          `${name} is not finite (${data[i]}) at frame ${Math.floor(particle / particles)}, particle ${particle % particles}`,
        ),
        { code: 'ERR_OUT_OF_RANGE' as const },
      );
    }
  }
}
