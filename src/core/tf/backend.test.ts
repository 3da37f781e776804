import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { selectBackend } from './backend.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('selectBackend', () => {
  it('the cpu backend computes without printing TensorFlow.js\'s invitation to install tfjs-node', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const info = await selectBackend('cpu');
    expect(info.name).toBe('cpu');
    const sum = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).dataSync());
    expect([...sum]).toEqual([4, 6]);
    expect(warn).not.toHaveBeenCalled();
  });

  it('a backend that is not one of the choices is refused (FLTS_BACKEND_UNAVAILABLE), not run on cpu under its name', async () => {
    await expect(selectBackend('gpu' as never)).rejects.toMatchObject({ name: 'FltsError', code: 'FLTS_BACKEND_UNAVAILABLE' });
  });
});
