// The HLS gateway's public face (docs/streams.md): the pure timeline and playlist, the cache,
// signing, the poller that feeds them, and the fastify plugin that serves them.
export { clusterFromState } from './cluster-view.ts';
export type { GatewayCluster } from './cluster-view.ts';
export { formatIsoMs, parseIsoMs } from './date-time.ts';
export { HlsFetchError } from './http-fetch.ts';
export { checkInternalAuth, internalTokenFromNetworkKey } from './internal-auth.ts';
export { playlistVersion, renderPlaylist } from './playlist.ts';
export type { PlaylistSegment, PlaylistView } from './playlist.ts';
export { HlsPoller } from './poller.ts';
export type { PollerComponents, PollerInit, PollerStats } from './poller.ts';
export { hlsRoutes } from './routes.ts';
export type { HlsRoutesOptions, HlsSource, TimelineReader } from './routes.ts';
export { streamIdPattern } from './schemas.ts';
export { defaultCacheBytesMax, SegmentCache } from './segment-cache.ts';
export type { CachedSegment, SegmentCacheInit, SegmentCacheStats } from './segment-cache.ts';
export { checkViewerSignature, signature, signedQuery, signedViewerUrl } from './signing.ts';
export type { SignatureCheck, SignatureProblem } from './signing.ts';
export { StreamTimeline } from './timeline.ts';
export type { AssignmentChange, PublicSegment, Published, SegmentFacts, TimelineAssignment, TimelineInit, TimelineStats, TimelineView } from './timeline.ts';
export { parseWorkerPlaylist, WorkerPlaylistError } from './worker-playlist.ts';
export type { WorkerPlaylist, WorkerSegment } from './worker-playlist.ts';
