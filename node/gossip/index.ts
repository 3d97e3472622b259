// The public face of node/gossip: telemetry reports gossiped every second and the membership
// view (alive -> suspect -> down) built from them. See DESIGN.md section 5.
export { TelemetryGossip, defaultReportIntervalMs, defaultTelemetryTopic } from './service.ts';
export type {
  DropReason, GossipLogger, GossipStats, TelemetryGossipComponents, TelemetryGossipInit,
} from './service.ts';
export type { PubSubMessage, TelemetryPubSub } from './pubsub.ts';
export { MembershipView } from './membership.ts';
export type { MemberSnapshot, ObserveResult, Transition } from './membership.ts';
export { defaultMembershipTiming, countedGapMs, stateForSilence, acceptsSeq } from './timing.ts';
export type { MemberState, MembershipTiming } from './timing.ts';
export { decodeReport, encodeReport, maxReportBytes, maxStreamItems, seqSeed, streamStatuses } from './report.ts';
export type { DecodeResult, GatewayFigures, HostFigures, StreamFigures, StreamStatus, TelemetryReport } from './report.ts';
export { HostSampler } from './sampler.ts';
export type { HostSamplerInit, Sampler } from './sampler.ts';
export { everyFixedRate, realGossipClock } from './clock.ts';
export type { FixedRateTimer, GossipClock } from './clock.ts';
