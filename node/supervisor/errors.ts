// Expected failures of the supervisor, one class each with a stable `name`. Each message says what
// went wrong and what the operator can do about it, on one line.

/** A source URL (or its user agent / referrer) that ffmpeg must never be given: a scheme outside
 *  sourceSchemes, or text ffmpeg could read as an option, a protocol chain or a local file. */
export class UnsafeSourceError extends Error {
  override readonly name = 'UnsafeSourceError';
  readonly url: string;
  constructor(url: string, problem: string) {
    super(`source ${JSON.stringify(url.slice(0, 120))} refused: ${problem}; fix the stream's source list (only network URLs are run)`);
    this.url = url;
  }
}

/** A stream spec the supervisor cannot run as given (bad id, directory, segment settings). A
 *  caller bug or a state that skipped validation: the stream is not started. */
export class InvalidStreamSpecError extends Error {
  override readonly name = 'InvalidStreamSpecError';
  readonly streamId: string;
  constructor(streamId: string, problem: string) {
    super(`stream ${JSON.stringify(streamId.slice(0, 70))} cannot run: ${problem}; correct the stream or its service settings`);
    this.streamId = streamId;
  }
}
