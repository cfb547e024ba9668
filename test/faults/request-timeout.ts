/*
 * The handlers' request timeout under fault injection (AWS_REQUEST_TIMEOUT_MS), set when a scenario
 * file imports this module first, before any handler module loads: short, so that a hung call ends
 * quickly, yet long enough that a healthy call to moto on a busy 2-core machine never reaches it
 * (under load, healthy calls took over the 300 ms that the files once used).
 */
export const FAULT_REQUEST_TIMEOUT_MS = 2_000;
process.env.AWS_REQUEST_TIMEOUT_MS = String(FAULT_REQUEST_TIMEOUT_MS);
