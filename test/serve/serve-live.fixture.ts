import { START_MS, STEP_MS } from './serve-fixtures.js';

/** One long series of `down` by global row `g`; a request sends rows [from, from + count) of it. */
export const downAt = (g: number): number => 100 + 10 * Math.sin(g / 2) + g;
export const iso = (g: number): string => new Date(START_MS + g * STEP_MS).toISOString();

/** Rows [from, from + count) of the series, in the request format, as a client sending its latest rows would. */
export function rows(from: number, count: number): Record<string, unknown[]> {
  const index = Array.from({ length: count }, (_, i) => from + i);
  return { ts: index.map(iso), down: index.map(downAt), up: index.map((g) => 5 + (g % 3)) };
}

/** The same rows as Open Inference Protocol inputs. */
export function oipInputs(data: Record<string, unknown[]>): Array<{ name: string; datatype: string; shape: number[]; data: unknown[] }> {
  return [
    { name: 'timestamp', datatype: 'BYTES', shape: [data.ts.length], data: data.ts },
    { name: 'down', datatype: 'FP64', shape: [data.down.length], data: data.down },
    { name: 'up', datatype: 'FP64', shape: [data.up.length], data: data.up },
  ];
}

/** What a server's /healthz says of live scoring. */
export const healthLiveAt = async (url: string): Promise<any> => ((await (await fetch(`${url}/healthz`)).json()) as any).live;
