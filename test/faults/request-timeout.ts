/*
 * The handlers' request timeout under fault injection (AWS_REQUEST_TIMEOUT_MS), set when a scenario
 * file imports this module first, before any handler module loads: short, so that a hung call ends
 * quickly, yet long enough that a healthy call to moto on a busy 2-core machine never reaches it.
 * Under a CPU hog, healthy calls took 1.6 s (at 300 ms and then 2 s, scenarios failed in CI because
 * a call that was not scripted to fail timed out); the proxy logs each forwarded call's time and
 * marks one the caller gave up on (.moto/emulator-*.log).
 */
export const FAULT_REQUEST_TIMEOUT_MS = 5_000;
process.env.AWS_REQUEST_TIMEOUT_MS = String(FAULT_REQUEST_TIMEOUT_MS);
