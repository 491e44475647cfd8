import { BeatDbInitial1763856000000 } from './1763856000000-beat-db-initial';

export { BeatDbInitial1763856000000 } from './1763856000000-beat-db-initial';

/** beat-db's migrations, oldest first; pass to your DataSource's `migrations` (createBeatDataSource does). */
export const BEAT_DB_MIGRATIONS = [BeatDbInitial1763856000000];
