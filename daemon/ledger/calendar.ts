/**
 * Calendar days in the user's time zone: spend is reported, budgeted and projected by the days
 * and months the user lives in, not UTC's.
 */
export class Calendar {
  private readonly format: Intl.DateTimeFormat;

  constructor(readonly timeZone: string) {
    // Throws a RangeError for an unknown zone; the config check turns that into a clear message.
    this.format = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
  }

  static systemZone(): string {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  }

  /** The last second asked about: Intl formatting costs tens of microseconds, and a budget check asks several times. */
  private memo: { second: number; parts: Record<string, number> } | undefined;

  private parts(time: number): Record<string, number> {
    const second = Math.floor(time / 1000);
    if (this.memo?.second === second) return this.memo.parts;
    const out: Record<string, number> = {};
    for (const part of this.format.formatToParts(new Date(time))) if (part.type !== 'literal') out[part.type] = Number(part.value);
    this.memo = { second, parts: out };
    return out;
  }

  /** `YYYY-MM-DD` of the instant in this zone (keys sort as dates). */
  day(time: number): string {
    const p = this.parts(time);
    return `${p.year}-${pad(p.month)}-${pad(p.day)}`;
  }

  /** The month so far: its first day, today, how far into it we are (days, fractional) and its length. */
  monthProgress(time: number): { firstDay: string; today: string; elapsedDays: number; daysInMonth: number } {
    const p = this.parts(time);
    const year = p.year;
    const month = p.month;
    const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
    const elapsedDays = p.day - 1 + (p.hour * 3600 + p.minute * 60 + p.second) / 86400;
    return { firstDay: `${year}-${pad(month)}-01`, today: this.day(time), elapsedDays, daysInMonth };
  }

  /** The first day (`YYYY-MM-DD`) of the day, week (Monday first) or month the instant falls in. */
  windowStart(time: number, period: 'day' | 'week' | 'month'): string {
    if (period === 'day') return this.day(time);
    if (period === 'month') return this.monthProgress(time).firstDay;
    const [y, m, d] = this.day(time).split('-').map(Number) as [number, number, number];
    const weekday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7; // Monday = 0
    return this.daysBefore(time, weekday);
  }

  /** `YYYY-MM-DD` n days before the instant's day (calendar arithmetic, no DST surprises). */
  daysBefore(time: number, n: number): string {
    const [y, m, d] = this.day(time).split('-').map(Number) as [number, number, number];
    const shifted = new Date(Date.UTC(y, m - 1, d - n));
    return `${shifted.getUTCFullYear()}-${pad(shifted.getUTCMonth() + 1)}-${pad(shifted.getUTCDate())}`;
  }
}

function pad(n: number | undefined): string {
  return String(n ?? 0).padStart(2, '0');
}
