export { ROOT } from '../../src/testkit/paths.js';
