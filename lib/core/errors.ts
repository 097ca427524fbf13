// Errors with a stable `code`, in the style of Node's own (ERR_INVALID_ARG_TYPE, …).

export type ErrorCode =
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_INVALID_ARG_VALUE'
  | 'ERR_OUT_OF_RANGE'
  | 'ERR_ADDON_LOAD'
  /** a file that does not exist or cannot be opened */
  | 'ERR_FILE_NOT_FOUND'
  /** an extension no codec handles */
  | 'ERR_UNKNOWN_FORMAT'
  /** wrong magic number, impossible header, a record that does not parse */
  | 'ERR_BAD_FORMAT'
  /** the file ends inside a frame or header */
  | 'ERR_TRUNCATED'
  /** atoms in a file differ from the topology or from the other files */
  | 'ERR_ATOM_COUNT'
  /** NaN or infinite coordinates */
  | 'ERR_NON_FINITE'
  /** a force, option or feature a file uses that tcbackmap does not support */
  | 'ERR_UNSUPPORTED'
  /** the caller aborted the work (AbortSignal, SIGINT) */
  | 'ERR_CANCELLED'
  /** an output could not be written (no space left, no permission) */
  | 'ERR_WRITE';

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

/**
 * An error about a file, in one line: "<file>: frame 12: <problem>". The frame is
 * 0-based within that file and omitted when the problem is not in a frame.
 */
export function fileError(code: ErrorCode, file: string, problem: string, frame?: number): TcbmError {
  const where = frame === undefined ? '' : `frame ${frame}: `;
  return new TcbmError(code, `${file}: ${where}${problem}`);
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
