import * as fs from 'node:fs';
import * as path from 'node:path';
import { updatePrices, type Provider } from '@pydantic/genai-prices';

/** Where the maintained price data is published (the package's own source). */
export const DEFAULT_PRICES_URL = 'https://raw.githubusercontent.com/pydantic/genai-prices/main/prices/new_data/v2/data.json';

interface SavedData {
  url: string;
  fetchedAt: string;
  providers: Provider[];
}

/**
 * Which price data is in use: the snapshot bundled with @pydantic/genai-prices (its version), or
 * a newer copy fetched with `aic prices update` and kept in the data directory, loaded at start.
 */
export class PriceData {
  private current: string;

  constructor(
    private readonly file: string,
    bundledVersion: string,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    this.current = `genai-prices@${bundledVersion}`;
  }

  /** The source recorded with every cost: the bundled version, or the fetch time of the update. */
  get version(): string {
    return this.current;
  }

  /** Loads a previously fetched copy; a damaged file is reported and the bundled data stays. */
  loadSaved(): { loaded: boolean; error?: string } {
    if (!fs.existsSync(this.file)) return { loaded: false };
    try {
      const saved = JSON.parse(fs.readFileSync(this.file, 'utf8')) as SavedData;
      this.apply(saved.providers, saved.fetchedAt);
      return { loaded: true };
    } catch (error) {
      return { loaded: false, error: `${this.file}: ${(error as Error).message}` };
    }
  }

  /** Fetches the current data, checks its shape, uses it at once and keeps it for the next start. */
  async update(url: string, signal: AbortSignal): Promise<{ source: string; providers: number; models: number }> {
    let response: Response;
    try {
      response = await this.fetchImpl(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(30_000)]) });
    } catch (error) {
      throw new Error(`could not fetch price data from ${url} (${(error as Error).message}); the prices in use (${this.current}) stay`);
    }
    if (!response.ok) throw new Error(`price data at ${url} answered ${response.status}; the prices in use (${this.current}) stay`);
    let providers: unknown;
    try {
      providers = await response.json();
    } catch {
      throw new Error(`price data at ${url} is not JSON; the prices in use (${this.current}) stay`);
    }
    if (
      !Array.isArray(providers) ||
      providers.length === 0 ||
      !providers.every((p) => typeof (p as Provider).id === 'string' && Array.isArray((p as Provider).models))
    ) {
      throw new Error(`price data at ${url} is not a list of providers with models; the prices in use (${this.current}) stay`);
    }
    const fetchedAt = new Date().toISOString();
    this.apply(providers as Provider[], fetchedAt);
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const saved: SavedData = { url, fetchedAt, providers: providers as Provider[] };
    fs.writeFileSync(`${this.file}.tmp`, JSON.stringify(saved), { mode: 0o600 });
    fs.renameSync(`${this.file}.tmp`, this.file);
    return { source: this.current, providers: providers.length, models: (providers as Provider[]).reduce((n, p) => n + p.models.length, 0) };
  }

  private apply(providers: Provider[], fetchedAt: string): void {
    // genai-prices keeps one active data set per process: the daemon's.
    updatePrices(({ setProviderData }) => setProviderData(providers));
    this.current = `genai-prices-data@${fetchedAt}`;
  }
}
