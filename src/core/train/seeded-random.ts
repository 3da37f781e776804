export { createRandom, shuffledIndices } from '../data/seeded-random.js';
