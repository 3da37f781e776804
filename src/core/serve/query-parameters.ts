import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { clip, firstFew, shownText } from '../clip-text.js';
import { FltsError } from '../errors.js';

type RouteSchema = { querystring?: object; body?: object };
type OnRequest = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;

/** As many unknown names as a message lists: a query of thousands is refused with its first few. */
const NAMES_SHOWN = 8;

/**
 * Refuses, before the body is read, a query parameter the route does not read: `/predict?identifier=plant-7` (a body
 * field) or `?inference_lenght=48` was answered as if it had not been sent, the forecast filed under the deployment's
 * series or of the default length, and nothing said so. The route's schema names what it reads, so the list accepted
 * is never written twice. Synchronous, with `done`, as it runs on every request of the route: a query string that is
 * absent costs a loop over no keys. Only the POST routes of flts's own API take it: GET probes and scrapers add
 * parameters of their own, and the Open Inference Protocol defines none (tritonclient passes its caller's
 * `query_params`, for a gateway in between), so there a parameter cannot be a misspelling of one flts reads.
 */
export function refuseUnknownQuery(route: string, schema: RouteSchema): OnRequest {
  const accepted = Object.keys(propertiesOf(schema.querystring));
  const acceptedSet = new Set(accepted);
  const bodyFields = new Set(Object.keys(propertiesOf(schema.body)));
  return (request, _reply, done) => {
    const query = request.query as Record<string, unknown>;
    let unknown: string[] | undefined;
    let repeated: string | undefined;
    for (const name in query) {
      if (!acceptedSet.has(name)) (unknown ??= []).push(name);
      else if (Array.isArray(query[name])) repeated ??= name;
    }
    if (unknown) return done(unknownQueryError(route, unknown, accepted, bodyFields));
    // Given twice, a parameter reaches the schema as a list, which refused it as "must be integer" whatever its values.
    done(repeated === undefined ? undefined : new FltsError('FLTS_REQUEST_INVALID', `${route} takes the query parameter ${repeated} once; it was given ${(query[repeated] as unknown[]).length} times. Nothing was done.`, { details: { parameter: repeated } }));
  };
}

function propertiesOf(part: object | undefined): object {
  return (part as { properties?: object } | undefined)?.properties ?? {};
}

function unknownQueryError(route: string, unknown: string[], accepted: string[], bodyFields: ReadonlySet<string>): FltsError {
  const shown = unknown.slice(0, NAMES_SHOWN).map((name) => clip(name, 80));
  // The names are the client's: the message shows them (shownText) so a U+202E cannot turn it round; details keep them as sent.
  const inBody = shown.filter((name) => bodyFields.has(name)).map(shownText);
  const takes = accepted.length > 0 ? `it takes ${accepted.join(', ')} in the query string` : 'it takes no query parameters';
  const body = inBody.length > 0 ? `; ${inBody.join(', ')} ${inBody.length === 1 ? 'is a field' : 'are fields'} of the JSON body` : '';
  return new FltsError('FLTS_REQUEST_UNKNOWN_PARAMETER', `${route} does not read the query parameter${unknown.length === 1 ? '' : 's'} ${firstFew(shown.map(shownText), NAMES_SHOWN, unknown.length)}: ${takes}${body}. Nothing was done.`, {
    details: { unknown: shown, accepted },
  });
}
