import { Injectable, OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import {
  type ProjectionReset,
  QUEUED_LISTENER,
  QueuedListenerOptions,
  RESETS_PROJECTION,
} from './queued-listener.decorator.js';

export interface RegisteredListener {
  name: string;
  events: string[];
  handle: (event: unknown, manager: EntityManager) => Promise<unknown> | unknown;
  /** Set for a projection that opted in to rebuilds (`rebuildable: true`): forgets a range of its events. */
  reset?: ProjectionReset;
}

/** Finds every @QueuedListener method (and the @ResetsProjection of each rebuildable one) at boot. */
@Injectable()
export class ListenerRegistry implements OnModuleInit {
  private readonly byName = new Map<string, RegisteredListener>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    const resets = new Map<string, ProjectionReset>();
    const rebuildable = new Set<string>();
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object') continue;
      const prototype = Object.getPrototypeOf(instance);
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const fn = instance[method] as (...args: never[]) => unknown;
        const resetOf = this.reflector.get<string | undefined>(RESETS_PROJECTION, prototype[method]);
        if (resetOf) {
          if (resets.has(resetOf)) throw new Error(`Two @ResetsProjection methods for "${resetOf}"`);
          resets.set(resetOf, fn.bind(instance) as ProjectionReset);
        }
        const options = this.reflector.get<QueuedListenerOptions | undefined>(QUEUED_LISTENER, prototype[method]);
        if (!options) continue;
        if (this.byName.has(options.name)) throw new Error(`Two queued listeners are named "${options.name}"`);
        if (options.rebuildable) rebuildable.add(options.name);
        this.byName.set(options.name, {
          name: options.name,
          events: options.events,
          handle: fn.bind(instance) as RegisteredListener['handle'],
        });
      }
    }
    // A rebuild without its reset would apply the range twice; a reset without an opt-in is a mistake too.
    for (const name of rebuildable)
      if (!resets.has(name)) throw new Error(`Queued listener "${name}" is rebuildable but has no @ResetsProjection`);
    for (const [name, reset] of resets) {
      if (!rebuildable.has(name))
        throw new Error(`@ResetsProjection("${name}") names no queued listener declared with rebuildable: true`);
      this.byName.get(name)!.reset = reset;
    }
  }

  get(name: string): RegisteredListener | undefined {
    return this.byName.get(name);
  }

  forEvent(eventName: string): RegisteredListener[] {
    return [...this.byName.values()].filter((l) => l.events.includes(eventName));
  }

  all(): RegisteredListener[] {
    return [...this.byName.values()];
  }
}
