/** -P processes: the shared pool suite (helpers/pool-suite.ts) against real Redis and the built CLI. */
import { poolSuite } from '../helpers/pool-suite';

poolSuite('processes');
