# A PostgreSQL 15 image for the compose file's `ha` profile, for machines that reach the
# Debian registry but no image registry: built on the same local Debian bookworm base as
# drover's image (scripts/make-node-base-image.sh makes it), with Debian's postgresql-15.
# It reads POSTGRES_HOST_AUTH_METHOD, POSTGRES_DB and POSTGRES_PASSWORD as the official
# postgres image does, so `DROVER_POSTGRES_IMAGE=postgres:15-bookworm` can replace it.
#   docker-compose --profile ha build postgres
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/*
COPY docker/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
RUN install -d -o postgres -g postgres "$PGDATA" /var/run/postgresql
USER postgres
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
