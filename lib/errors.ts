// Errors with a stable `code`, in the style of Node's own (ERR_INVALID_ARG_TYPE, …).

export type ErrorCode =
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_INVALID_ARG_VALUE'
  | 'ERR_OUT_OF_RANGE'
  | 'ERR_ADDON_LOAD';

export class TcbmError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TcbmError';
  }
}

/** "-1 of type number", "Int32Array(12)", "undefined": what a caller handed in. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return `[${value.join(', ')}]`;
  if (ArrayBuffer.isView(value)) {
    const length = (value as unknown as { length?: number }).length;
    return `${value.constructor.name}(${length ?? value.byteLength})`;
  }
  if (typeof value === 'object') return `object ${value.constructor?.name ?? 'Object'}`;
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return `${shown} of type ${typeof value}`;
}

export function invalidType(expected: string, name: string, received: unknown): TypeError {
  return Object.assign(new TypeError(`Expected ${expected} for ${name} but received ${describeValue(received)}`), {
    code: 'ERR_INVALID_ARG_TYPE' as const,
  });
}

export function outOfRange(expected: string, name: string, received: unknown): RangeError {
  return Object.assign(new RangeError(`Expected ${expected} for ${name} but received ${describeValue(received)}`), {
    code: 'ERR_OUT_OF_RANGE' as const,
  });
}
