export { freePort } from '../../src/core/free-port.fixture.js';
