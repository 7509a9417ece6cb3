/**
 * An error with a stable code the one error->status map switches on (src/server/error-status.ts),
 * and the subclass's name in logs. The subclass only narrows the code:
 *
 * new StoreError('STORE_CONFLICT', 'duplicate key').name => 'StoreError'
 */
export abstract class CodedError<Code extends string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
