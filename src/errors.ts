/**
 * An error meant for the user: one line naming the input and the problem.
 * Anything else reaching the CLI is a bug and is reported as such (stack only with --debug).
 */
export class CustomsError extends Error {
  constructor(
    message: string,
    readonly input?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CustomsError';
  }

  /** The one line the CLI prints. */
  line(): string {
    return this.input ? `${this.input}: ${this.message}` : this.message;
  }
}

/** Add the input name to an error raised deeper down, keeping CustomsError messages intact. */
export function withInput(err: unknown, input: string): CustomsError {
  if (err instanceof CustomsError) {
    return err.input ? err : new CustomsError(err.message, input, { cause: err.cause ?? err });
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new CustomsError(msg, input, { cause: err });
}
