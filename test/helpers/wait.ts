export { sleep, StopWaiting, waitFor, waitUntil } from '../../src/testkit/wait.js';
