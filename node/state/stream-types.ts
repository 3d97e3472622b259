// The channel model in the replicated state (issue 4): streams, services, node groups,
// placement policies and assignments. Pure data; apply() changes it, placement reads it.
import type { NodeId } from '../../consensus/core/index.ts';

/** Source URL schemes ffmpeg may be given. Anything else (`file:`, `pipe:`, `concat:`, ...) is
 *  refused before it reaches the state: a source URL must never name a local file or a program. */
export const sourceSchemes = ['http', 'https', 'udp', 'rtp', 'rtmp', 'rtmps', 'srt'] as const;
export type SourceScheme = (typeof sourceSchemes)[number];

export interface SourceRecord {
  /** An absolute URL with one of sourceSchemes (HLS is http(s) ending in .m3u8 or not). */
  readonly url: string;
  /** Higher is preferred; ties keep list order. */
  readonly priority: number;
  /** Sent as the HTTP User-Agent / Referer (M3U `#EXTVLCOPT:http-user-agent`, ...). */
  readonly userAgent: string | null;
  readonly referrer: string | null;
}

/** `copy` remuxes (no re-encoding); a transcode re-encodes video to `height` lines (width
 *  follows the aspect ratio) at `videoKbps`, and audio to AAC at `audioKbps`. */
export type Profile = 'copy' | { readonly height: number; readonly videoKbps: number; readonly audioKbps: number };

export type Strategy = 'spread' | 'binpack';

/** How streams are placed. Resolved global -> service -> stream (a field set lower wins). */
export interface Policy {
  /** spread: the node with the most headroom; binpack: the fullest node that still fits. */
  readonly strategy: Strategy;
  /** Eligible node groups in priority order; empty: any node. */
  readonly groups: readonly string[];
  /** A node is not given a stream that would take it past these (its measured use + the
   *  stream's cost), in % of the whole machine. */
  readonly cpuCeilPct: number;
  readonly memCeilPct: number;
  /** 0: no limit. */
  readonly maxStreamsPerNode: number;
  /** Score bonus (0..1 of headroom) for the node a stream runs on: it moves only for a larger gain. */
  readonly stickiness: number;
  /** Rebalancing moves of running streams per minute, cluster-wide (failovers are not counted). */
  readonly rebalanceMovesPerMin: number;
  /** Run a second copy on another node, ready to take over at once. */
  readonly hotStandby: boolean;
}

export type PolicyOverride = Partial<Policy>;

/** How a service's streams are published at /live/<stream>/. */
export interface HlsSettings {
  /** Segment duration ffmpeg aims at; also the public target duration (never changes). */
  readonly segmentS: number;
  /** Segments in the public playlist (at least 3 target durations' worth). */
  readonly windowSegments: number;
  /** proxy: gateways serve segments from their cache; redirect: 302 to the worker. */
  readonly mode: 'proxy' | 'redirect';
  /** When set, viewer URLs must carry `?exp=<unix s>&sig=<hmac>` made with this secret. */
  readonly signingSecret: string | null;
}

export interface ServiceRecord {
  readonly id: string;
  readonly name: string;
  readonly policy: PolicyOverride;
  readonly hls: HlsSettings;
  /** XMLTV guides (http/https) for this service's channels, merged by tvg-id; absent: none. */
  readonly epgUrls?: readonly string[];
  readonly createdAtMs: number;
}

export interface GroupRecord {
  readonly name: string;
  /** Higher is preferred when a policy lists no groups. */
  readonly priority: number;
}

export interface StreamRecord {
  /** URL-safe slug: [a-z0-9][a-z0-9-_]{0,63}; the public URL is /live/<id>/index.m3u8. */
  readonly id: string;
  readonly name: string;
  /** At least one; tried in priority order (see SourceRecord.priority). */
  readonly sources: readonly SourceRecord[];
  readonly profile: Profile;
  /** null: the default service (global policy and HLS settings). */
  readonly serviceId: string | null;
  /** Run only in this group / on this node (null: anywhere the policy allows). */
  readonly pinGroup: string | null;
  readonly pinNode: NodeId | null;
  /** Higher is placed first when capacity is short. */
  readonly priority: number;
  /** A disabled stream is kept but not run. */
  readonly enabled: boolean;
  readonly policy: PolicyOverride;
  readonly createdAtMs: number;
}

/** Where a stream runs. `epoch` increases (cluster-wide) with every change of the active worker:
 *  a worker runs a stream only while the applied assignment names it with that epoch (fencing),
 *  and the public segment numbers of an epoch start at `base`. */
export interface Assignment {
  readonly streamId: string;
  readonly nodeId: NodeId;
  readonly epoch: number;
  /** Public number of this epoch's first published segment (see docs/streams.md). */
  readonly base: number;
  /** The worker's own segment index that is published as `base`: 0 for a worker that starts
   *  with the epoch; a hot standby ran before its switch, so its newest segment then. */
  readonly firstIndex: number;
  /** A second worker that runs the stream too (hot standby, or the target of a move that is
   *  starting: make-before-break), with the epoch it will have when it takes over. */
  readonly next: { readonly nodeId: NodeId; readonly epoch: number } | null;
  /** Set by SealStream when a switch is decided: gateways publish no new segment of `epoch`. */
  readonly sealed: boolean;
  /** When this epoch became active (the proposer's clock). */
  readonly sinceMs: number;
}
