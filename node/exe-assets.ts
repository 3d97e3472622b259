// Files the single executable carries instead of reading them from a checkout: the dashboard
// (every file of ui/ and hls.js's hls.min.js, embedded by scripts/build-exe.sh as assets named
// "ui/<file>"). Elsewhere (sources, bundle) there are none and callers read their files as before.
import { getAsset, getAssetKeys, isSea } from 'node:sea';

/** Prefix of the dashboard's asset names; the rest is the file's path under /ui/. */
export const uiAssetPrefix = 'ui/';

/** The dashboard files built into this executable, by file name (e.g. "app.js", "hls.min.js"),
 *  or null when this process is not the single executable. The buffers are copies, owned by the
 *  caller. */
export function embeddedUiFiles(): Map<string, Buffer> | null {
  if (!isSea()) return null;
  const files = new Map<string, Buffer>();
  for (const key of getAssetKeys()) {
    if (key.startsWith(uiAssetPrefix)) files.set(key.slice(uiAssetPrefix.length), Buffer.from(getAsset(key)));
  }
  if (!files.has('index.html')) throw new Error('this executable carries no dashboard (ui/index.html): rebuild it with npm run build:exe');
  return files;
}
