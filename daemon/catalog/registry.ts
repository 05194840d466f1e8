import { HostHealth, type HostHealthOptions } from './host-health';
import { ModelCatalog, type ModelCatalogOptions } from './model-catalog';
import { Router } from './router';

export type RegistryOptions = HostHealthOptions & ModelCatalogOptions;

/**
 * Provider → Model → Host, built from its three parts, each owning one decision: which hosts
 * exist and how healthy they are (HostHealth), what each serves (ModelCatalog), and where a model
 * reference goes (Router). The composition root hands each consumer only the part it needs.
 */
export class HostRegistry {
  readonly health: HostHealth;
  readonly catalog: ModelCatalog;
  readonly router: Router;

  constructor(options: RegistryOptions) {
    this.health = new HostHealth(options);
    this.catalog = new ModelCatalog(this.health, options);
    this.router = new Router(this.health, this.catalog);
  }
}
