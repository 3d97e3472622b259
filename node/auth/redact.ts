// URLs as someone who may not see credentials sees them: provider URLs often carry a username and
// password, in the userinfo or in the query (Xtream-style `?username=..&password=..`). Pure.

const hidden = '(hidden)';

/** `url` without its userinfo and with its query replaced by `?(hidden)`. Not a URL: the part
 *  before any '?' or '@' is kept, the rest hidden. */
export function redactedUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    const cut = url.search(/[?@]/);
    return cut < 0 ? url : `${url.slice(0, cut)}?${hidden}`;
  }
  const hadQuery = parsed.search !== '';
  parsed.username = '';
  parsed.password = '';
  parsed.search = '';
  parsed.hash = '';
  return `${parsed.toString()}${hadQuery ? `?${hidden}` : ''}`;
}
