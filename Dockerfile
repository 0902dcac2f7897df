# One image for api, worker and migrations; docker-compose.yml picks the command.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY libs/events/package.json libs/events/
COPY libs/notifications/package.json libs/notifications/
COPY libs/wms-domain/package.json libs/wms-domain/
RUN npm install --no-audit --no-fund
COPY . .
RUN npx tsc -b && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/libs libs
COPY --from=build /app/dist dist
COPY --from=build /app/apps/api/public apps/api/public
# The archive volume's mount point, owned by the user that writes to it (a new volume takes this ownership).
RUN mkdir -p .data/archive && chown node:node .data/archive
USER node
EXPOSE 3000
CMD ["node", "dist/apps/api/src/main.js"]
