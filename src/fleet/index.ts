import { runFleet } from './fleet.js';

await runFleet();
