// Cluster-wide settings: defaults and the ranges UpdateSettings accepts. Pure.
import { floatingAddressProblem } from './floating-address.ts';
import type { ClusterSettings } from './types.ts';

/** What a new cluster starts with: the gossip failure detector's defaults (node/gossip/timing.ts:
 *  reports every second; suspect after 1.5 s and down after 2.5 s of silence, so a dead node is
 *  down within 3 s including a tick and the gossip delay). A voter down for a minute is
 *  replaced: long enough for a restart to come back on its own. */
export const defaultSettings: ClusterSettings = {
  votersTarget: 3,
  suspectAfterS: 1.5,
  downAfterS: 2.5,
  replaceDownVoterAfterS: 60,
  floatingAddress: null,
  floatingInterface: null,
};

/** Inclusive bounds; fractional seconds are allowed. */
export const suspectAfterSMin = 0.5;
export const suspectAfterSMax = 300;
export const downAfterSMax = 3600;
export const replaceDownVoterAfterSMax = 86_400;

/** Why `settings` is not acceptable, or null when it is. Checks the merged whole, because the
 *  ranges depend on each other (down after suspect, replace after down). */
export function settingsProblem(settings: ClusterSettings): string | null {
  const { votersTarget, suspectAfterS, downAfterS, replaceDownVoterAfterS } = settings;
  if (votersTarget !== 3 && votersTarget !== 5) return `votersTarget must be 3 or 5, not ${String(votersTarget)}`;
  if (!inRange(suspectAfterS, suspectAfterSMin, suspectAfterSMax)) {
    return `suspectAfterS must be between ${suspectAfterSMin} and ${suspectAfterSMax} seconds, not ${suspectAfterS}`;
  }
  if (!inRange(downAfterS, suspectAfterS, downAfterSMax) || downAfterS === suspectAfterS) {
    return `downAfterS must be more than suspectAfterS (${suspectAfterS}) and at most ${downAfterSMax} seconds, not ${downAfterS}`;
  }
  if (!inRange(replaceDownVoterAfterS, downAfterS, replaceDownVoterAfterSMax)) {
    return `replaceDownVoterAfterS must be between downAfterS (${downAfterS}) and ${replaceDownVoterAfterSMax} seconds, not ${replaceDownVoterAfterS}`;
  }
  return floatingAddressProblem(settings.floatingAddress, settings.floatingInterface);
}

function inRange(value: number, min: number, max: number): boolean {
  return Number.isFinite(value) && value >= min && value <= max;
}
