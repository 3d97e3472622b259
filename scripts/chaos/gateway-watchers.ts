// Watches every node's stable URL for every channel (gateways.ts says what is checked): one
// PlaylistWatcher (test/cluster/players.ts) per node and channel, each polling about once a
// second, their starts spread over that second so the polls do not come in bursts. A watcher
// outlives its node's restarts (it keeps polling the same URL), so a restarted gateway is
// compared with what it listed before.
import { PlaylistWatcher } from '../../test/cluster/players.ts';
import { sleep } from './api-client.ts';
import type { GatewayRecord, SegmentRecord } from './gateways.ts';
import { JsonlWriter, recordPath } from './records.ts';
import type { ChaosTarget, Observer } from './types.ts';

export const gatewayPollMs = 1_000;

export async function startGatewayWatchers(target: ChaosTarget, outDir: string): Promise<Observer> {
  const listings = new JsonlWriter<GatewayRecord>(recordPath(outDir, 'listings'));
  const segments = new JsonlWriter<SegmentRecord>(recordPath(outDir, 'segments'));
  const watchers: { w: PlaylistWatcher; node: string; stream: string }[] = [];
  const stop = new AbortController();
  const pairs = target.nodes.flatMap((node) => target.streamIds.map((stream) => ({ node, stream })));
  for (const { node, stream } of pairs) {
    let seq = NaN;
    let last = NaN;
    const w = new PlaylistWatcher(node.httpUrl, stream, gatewayPollMs, {
      keepListings: false,
      onListing: (l) => {
        const newest = l.segments.at(-1)?.n ?? -1;
        if (l.mediaSequence === seq && newest === last) return;
        seq = l.mediaSequence;
        last = newest;
        listings.write({ type: 'listing', atMs: l.atMs, node: node.name, stream, seq, last });
      },
      onSegment: (s) => segments.write({ atMs: s.atMs, node: node.name, stream, n: s.n, digest: s.digest, durationS: s.durationS }),
    });
    watchers.push({ w, node: node.name, stream });
  }
  // Started one after the other across one poll period.
  const starting = (async () => {
    for (const { w } of watchers) {
      if (stop.signal.aborted) return;
      w.start();
      await sleep(gatewayPollMs / watchers.length, stop.signal);
    }
  })();
  return {
    name: 'gateways',
    async stop() {
      stop.abort();
      await starting;
      for (const { w } of watchers) w.stop();
      for (const { w, node, stream } of watchers) {
        const listedButMissing = w.problems.filter((p) => p.includes('listed but answered')).length;
        listings.write({ type: 'total', node, stream, listings: w.listingsSeen, listedButMissing });
      }
      await Promise.all([listings.close(), segments.close()]);
    },
  };
}
