# qumulo-flow on the official Node-RED image.
#   npm run pack:docker            # builds and packs the bundle into docker/qumulo-flow.tgz
#   docker compose up -d --build   # Node-RED on :1880 with Redis beside it
# The bundle is installed into /usr/src/node-red (found by Node-RED's module scan), so it survives
# a /data volume and the example flows show under Import > Examples > @qumulo-flow/node-red-qumulo-flow.
# Base: the newest official Node-RED 5 image (nodered/node-red publishes 5.x on Node 24 only). The
# Node-RED 4.1 on Node 20 variant: docker build --build-arg NODE_RED_IMAGE=nodered/node-red:4.1.13-20 .
ARG NODE_RED_IMAGE=nodered/node-red:5.0.4-24
FROM ${NODE_RED_IMAGE}

USER root
COPY docker/qumulo-flow.tgz /tmp/qumulo-flow.tgz
WORKDIR /usr/src/node-red
RUN npm install --omit=dev --no-audit --no-fund --no-update-notifier /tmp/qumulo-flow.tgz \
 && rm /tmp/qumulo-flow.tgz
COPY docker/settings.js /usr/src/node-red/qumulo-flow-settings.js
USER node-red

# Healthy = the editor's login endpoint answers (200 with or without adminAuth). Replaces the base
# image's check, which reads /data/settings.js (not where this image's settings are).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 1880) + '/auth/login').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# The image's entrypoint passes extra arguments on to Node-RED.
ENTRYPOINT ["./entrypoint.sh", "--settings", "/usr/src/node-red/qumulo-flow-settings.js"]
