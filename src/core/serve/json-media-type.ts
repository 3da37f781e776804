/**
 * The media types a JSON body is read under: application/json, and any application type with the structured syntax
 * suffix +json (RFC 6839: application/vnd.api+json, application/merge-patch+json, application/problem+json), which
 * say JSON as much as application/json does; with or without parameters (a charset). text/plain, +xml and the rest
 * are not JSON.
 */
export const JSON_MEDIA_TYPE = /^\s*application\/(?:json|[a-z0-9!#$&^_.+-]+\+json)\s*(?:;|$)/i;
