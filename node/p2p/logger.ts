// The narrow logger the p2p components take: pino's and console's methods both fit.

export interface P2pLogger {
  /** Routine events worth a trace: a connection cut off, a stream reopened. */
  debug(message: string): void;
  /** Something an operator may want to know about: a peer misbehaving, a frame dropped. */
  warn(message: string): void;
}

/** Default: warnings to the console, no debug output. */
export const consoleLogger: P2pLogger = {
  debug: () => {},
  warn: (message) => console.warn(message),
};

/** For tests that provoke failures on purpose. */
export const silentLogger: P2pLogger = {
  debug: () => {},
  warn: () => {},
};
