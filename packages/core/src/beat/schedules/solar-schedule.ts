/**
 * Celery's `solar`: runs at a sun event at a place. Event names are Celery's; suncalc computes the
 * times (Celery uses ephem; the two agree within a minute or so). The sun's altitude for each event
 * (celery/schedules.py `solar._horizons`): dawn/dusk astronomical -18°, nautical -12°, civil -6°,
 * sunrise/sunset at the upper limb with refraction (-0.833°), solar_noon at the highest point.
 * Near the poles an event may not happen for months; the next one is then searched up to a year ahead.
 */
import type * as SunCalc from 'suncalc' with { 'resolution-mode': 'import' };
import { ConfigError } from '../../errors';
import { nearest } from '../../util/levenshtein';
import { dueFromTimes, type Schedule, type ScheduleDue } from './schedule';

/** Celery's solar event names, in the order they happen in a day. */
export const SOLAR_EVENTS = [
  'dawn_astronomical',
  'dawn_nautical',
  'dawn_civil',
  'sunrise',
  'solar_noon',
  'sunset',
  'dusk_civil',
  'dusk_nautical',
  'dusk_astronomical',
] as const;
export type SolarEvent = (typeof SOLAR_EVENTS)[number];

const SUNCALC_NAME: Readonly<Record<SolarEvent, keyof SunTimes>> = {
  dawn_astronomical: 'nightEnd',
  dawn_nautical: 'nauticalDawn',
  dawn_civil: 'dawn',
  sunrise: 'sunrise',
  solar_noon: 'solarNoon',
  sunset: 'sunset',
  dusk_civil: 'dusk',
  dusk_nautical: 'nauticalDusk',
  dusk_astronomical: 'night',
};

// suncalc is an ES module with a CommonJS build under its `require` condition; TypeScript only sees the former.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { getTimes } = require('suncalc') as typeof SunCalc;
type SunTimes = SunCalc.SunTimes;

const DAY_MS = 86_400_000;
const SEARCH_DAYS = 370;

/**
 * A sun event at a latitude and longitude (degrees).
 * @example
 * new SolarSchedule('sunset', 48.8566, 2.3522); // Paris
 */
export class SolarSchedule implements Schedule {
  readonly kind = 'solar';
  readonly oneOff = false;

  constructor(
    readonly event: SolarEvent,
    readonly lat: number,
    readonly lon: number,
  ) {
    if (!(SOLAR_EVENTS as readonly string[]).includes(event)) {
      const near = typeof event === 'string' ? nearest(event, SOLAR_EVENTS) : undefined;
      throw new ConfigError('solar', `Unknown solar event ${JSON.stringify(event)}: use one of ${SOLAR_EVENTS.join(', ')}${near ? ` (did you mean "${near}"?)` : ''}.`);
    }
    if (typeof lat !== 'number' || !(lat >= -90 && lat <= 90)) throw new ConfigError('lat', `Solar latitude must be a number from -90 to 90, got ${JSON.stringify(lat)}.`);
    if (typeof lon !== 'number' || !(lon >= -180 && lon <= 180)) throw new ConfigError('lon', `Solar longitude must be a number from -180 to 180, got ${JSON.stringify(lon)}.`);
  }

  /** The event on the solar day of `day` (null when it does not happen that day). */
  private eventOn(day: number): Date | null {
    const value = getTimes(new Date(day), this.lat, this.lon)[SUNCALC_NAME[this.event]];
    return value instanceof Date && !Number.isNaN(value.getTime()) ? value : null;
  }

  nextRunAfter(after: Date): Date | null {
    const t = after.getTime();
    for (let d = -1; d <= SEARCH_DAYS; d++) {
      const event = this.eventOn(t + d * DAY_MS);
      if (event && event.getTime() > t) return event;
    }
    return null;
  }

  /** The latest event at or before `t`. */
  lastRunAtOrBefore(at: Date): Date | null {
    const t = at.getTime();
    for (let d = 1; d >= -SEARCH_DAYS; d--) {
      const event = this.eventOn(t + d * DAY_MS);
      if (event && event.getTime() <= t) return event;
    }
    return null;
  }

  isDue(lastRunAt: Date | null, now: Date): ScheduleDue {
    return dueFromTimes(this, (t) => this.lastRunAtOrBefore(t), lastRunAt, now);
  }

  toString(): string {
    return `solar ${this.event} (${this.lat}, ${this.lon})`;
  }
}
