import { Injectable, OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { QUEUED_LISTENER, QueuedListenerOptions } from './queued-listener.decorator.js';

export interface RegisteredListener {
  name: string;
  events: string[];
  handle: (event: unknown, manager: EntityManager) => Promise<unknown> | unknown;
}

/** Finds every @QueuedListener method at boot. */
@Injectable()
export class ListenerRegistry implements OnModuleInit {
  private readonly byName = new Map<string, RegisteredListener>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object') continue;
      const prototype = Object.getPrototypeOf(instance);
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const options = this.reflector.get<QueuedListenerOptions | undefined>(QUEUED_LISTENER, prototype[method]);
        if (!options) continue;
        if (this.byName.has(options.name)) throw new Error(`Two queued listeners are named "${options.name}"`);
        const fn = instance[method] as RegisteredListener['handle'];
        this.byName.set(options.name, { name: options.name, events: options.events, handle: fn.bind(instance) });
      }
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
