/*
 * Every AWS call of the handlers gives up well inside the function's timeout: a connection within
 * 2 s, an answer within 5 s, and the SDK's standard retries (3 attempts with backoff), so about
 * 25 s in the worst case against functions that run up to 2 minutes. What follows a hung call
 * (the job result above all) still has time to run.
 */

/** Milliseconds for a connection and for an answer. `AWS_REQUEST_TIMEOUT_MS` shortens the answer's (the fault tests do). */
export const CONNECTION_TIMEOUT_MS = 2_000;
export const REQUEST_TIMEOUT_MS = Number(process.env.AWS_REQUEST_TIMEOUT_MS) || 5_000;

interface ClientConfig {
  readonly maxAttempts?: number;
  readonly requestHandler?: typeof REQUEST_LIMITS;
}

/**
 * The request handler settings for every client (also one the function creates itself, e.g. with a
 * job's own credentials). Without `throwOnRequestTimeout` the SDK only warns when an answer is late.
 */
export const REQUEST_LIMITS = { connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true };

const clients = new Map<unknown, unknown>();

/**
 * The function's client of an AWS service, created once (warm invocations reuse it), with the
 * request limits above. `maxAttempts: 1` for calls that must not be sent twice by the SDK.
 */
export function awsClient<C>(Client: new (config: ClientConfig) => C, options: { maxAttempts?: number } = {}): C {
  const key = options.maxAttempts ? `${Client.name}:${options.maxAttempts}` : Client;
  let client = clients.get(key) as C | undefined;
  if (!client) {
    client = new Client({
      ...options,
      requestHandler: REQUEST_LIMITS,
    });
    clients.set(key, client);
  }
  return client;
}

/** For tests: forget the clients, like a cold start. */
export function resetAwsClients(): void {
  clients.clear();
}
