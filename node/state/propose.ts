// Proposing a command and getting its ApplyResult: encode, propose through the driver, then
// read the result the state machine recorded for that entry.
import type { Placed } from '../../consensus/proposals.ts';
import { encodeCommand } from './codec.ts';
import { ResultUnavailableError } from './errors.ts';
import { resultsKeptMax } from './machine.ts';
import type { ClusterStateMachine } from './machine.ts';
import type { ApplyResult, Command } from './types.ts';

/** The one driver method this needs (RaftDriver fits). */
export interface Proposer {
  propose(data: Uint8Array): Promise<Placed>;
}

/** Proposes `command` and resolves with what applying it did, once it is applied locally.
 *  Throws InvalidCommandError before proposing anything when the command does not match its
 *  schema; passes on the driver's rejections (NotLeaderError on a follower, TooManyPendingError,
 *  ProposalLostError, ProposalOutcomeUnknownError, StoppedInFlightError, DriverStoppedError); throws
 *  ResultUnavailableError in the unlikely case the result was evicted first. */
export async function proposeCommand(driver: Proposer, machine: ClusterStateMachine, command: Command): Promise<ApplyResult> {
  const placed = await driver.propose(encodeCommand(command));
  const result = machine.resultAt(placed.index);
  if (result === null) throw new ResultUnavailableError(placed.index, resultsKeptMax);
  return result;
}
