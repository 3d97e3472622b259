// The API refuses a source that a worker would refuse to give ffmpeg, by running the check the
// supervisor runs right before it starts ffmpeg (inputArgs: the scheme, protocol chains such as
// `|` or `subfile,`, a leading `-`, control characters in the URL, user agent or referrer).
// Without it such a stream was accepted (201) and then never ran, and a probe of such a URL
// answered 500 (the node's probe throws UnsafeSourceError); now both are a 400 that names the
// problem. The state's own rule (streamProblem) stays the looser one: it also decodes old logs.
import { inputArgs, UnsafeSourceError } from '../supervisor/index.ts';
import type { SourceRecord } from '../state/index.ts';

/** Longest source URL a command may carry (node/state/schema.ts SourceSchema). */
export const sourceUrlLengthMax = 2048;

/** The port of `scheme://[user@]host:port/...`, when the URL names one. */
const portPattern = /^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#@]*@)?(?:\[[^\]]*\]|[^/?#:]*):(\d+)(?:[/?#]|$)/i;

/** Why a worker would refuse `source` (or could never open it: a port outside 1-65535), or null. */
export function sourceRefusal(source: SourceRecord): string | null {
  const length = [...source.url].length; // code points, as the schemas count
  if (length > sourceUrlLengthMax) return `source URL is ${length} characters long, more than the ${sourceUrlLengthMax} allowed`;
  try {
    inputArgs(source);
  } catch (err) {
    if (err instanceof UnsafeSourceError) return err.message;
    throw err;
  }
  const port = portPattern.exec(source.url)?.[1];
  if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65_535)) return `source "${source.url.slice(0, 80)}" names port ${port.slice(0, 10)}: a port is 1-65535`;
  return null;
}
