import { InputError } from './errors';

/** At most this many pages are read from one listing: far more than a stage's targets need. */
const MAX_PAGES = 100;

/**
 * Reads every page of a paginated AWS listing. A page token that comes back a second time, or a
 * listing longer than `MAX_PAGES`, ends it with a clear error instead of looping until the
 * function's timeout.
 */
export async function* paginate<P extends { token?: string }>(what: string, fetch: (token: string | undefined) => Promise<P>): AsyncGenerator<P> {
  const seen = new Set<string>();
  let token: string | undefined;
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const page = await fetch(token);
    yield page;
    token = page.token;
    if (!token) return;
    if (seen.has(token)) throw new InputError(`${what} answered the same page token twice; stopped reading it`);
    seen.add(token);
  }
  throw new InputError(`${what} has more than ${MAX_PAGES} pages; stopped reading it`);
}
