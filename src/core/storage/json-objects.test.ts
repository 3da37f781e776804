import { describe, expect, it } from 'vitest';
import { parseLenientJson } from './json-objects.js';

describe('core > storage > json-objects', () => {
  it('reads plain JSON', () => {
    expect(parseLenientJson('{"a":1}')).toEqual({ a: 1 });
  });

  it('reads the reference multipart envelope around a promotion record', () => {
    const body = '--b1\r\nContent-Disposition: form-data; name="file"; filename="current.json"\r\nContent-Type: application/json\r\n\r\n{"run_id":"r1","model_uri":"runs:/r1/GRU"}\r\n--b1--\r\n';
    expect(parseLenientJson(body)).toEqual({ run_id: 'r1', model_uri: 'runs:/r1/GRU' });
  });

  it('reads bare NaN and Infinity tokens as null', () => {
    expect(parseLenientJson('{"rmse": NaN, "mae": Infinity, "xs": [1, -Infinity]}')).toEqual({ rmse: null, mae: null, xs: [1, null] });
  });
});
