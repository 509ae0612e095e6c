export { freePort, freePorts } from '../../src/testkit/ports.js';
