import type { INestApplicationContext, PipeTransform } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum.js';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { ALLOW, PUBLIC, type Role } from '../../apps/api/src/auth/principal.js';

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'ALL', 'OPTIONS', 'HEAD'];

/** One route of the api as Nest's router knows it: what it reads and who may call it. */
export interface ApiRoute {
  /** `POST /warehouses/:wh/zones` */
  route: string;
  method: string;
  /** `/warehouses/:wh/zones` */
  path: string;
  /** The class of its `@Body()`, if it reads one. */
  body?: new () => object;
  /** The class of its `@Query()`, if it reads one. */
  query?: new () => object;
  /** Its `@Param()`s with their pipes, in path order. */
  params: { name: string; pipes: PipeTransform[] }[];
  /** The roles of `@Allow`, or `public`. */
  allow: Role[] | 'public';
}

/** Every route of the api, read from Nest's router metadata, so a new route cannot be missed. */
export function apiRoutes(app: INestApplicationContext): ApiRoute[] {
  const discovery = app.get(DiscoveryService, { strict: false });
  const scanner = app.get(MetadataScanner, { strict: false });
  const routes: ApiRoute[] = [];
  for (const wrapper of discovery.getControllers()) {
    const controller = wrapper.metatype as new () => object;
    const base = Reflect.getMetadata(PATH_METADATA, controller) as string;
    const proto = Object.getPrototypeOf(wrapper.instance);
    for (const name of scanner.getAllMethodNames(proto)) {
      const handler = proto[name];
      const path = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
      if (path === undefined) continue;
      const full = `/${[base, path].filter((p) => p && p !== '/').join('/')}`.replace(/\/+/g, '/');
      const method = METHODS[Reflect.getMetadata(METHOD_METADATA, handler)];
      const types = (Reflect.getMetadata('design:paramtypes', proto, name) ?? []) as (new () => object)[];
      const args = Object.entries(
        (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, name) ?? {}) as Record<
          string,
          { index: number; data?: string; pipes: PipeTransform[] }
        >,
      ).map(([key, arg]) => ({ type: Number(key.split(':')[0]), ...arg }));
      const dto = (type: RouteParamtypes) => {
        const arg = args.find((a) => a.type === type && a.data === undefined);
        return arg ? types[arg.index] : undefined;
      };
      const order = [...full.matchAll(/:(\w+)/g)].map((m) => m[1]);
      const at = (klass: object, key: symbol) => Reflect.getMetadata(key, handler) ?? Reflect.getMetadata(key, klass);
      routes.push({
        route: `${method} ${full}`,
        method,
        path: full,
        body: dto(RouteParamtypes.BODY),
        query: dto(RouteParamtypes.QUERY),
        params: args
          .filter((a) => a.type === RouteParamtypes.PARAM && a.data)
          .map((a) => ({ name: a.data!, pipes: a.pipes }))
          .sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name)),
        allow: at(controller, PUBLIC) ? 'public' : ((at(controller, ALLOW) as Role[] | undefined) ?? []),
      });
    }
  }
  return routes.sort((a, b) => (a.route < b.route ? -1 : a.route > b.route ? 1 : 0));
}
