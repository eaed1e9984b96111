#!/usr/bin/env bash
# Runs once, on an empty data folder (the postgres image's /docker-entrypoint-initdb.d):
# the registries' role and one database per region, owned by it so that
# `expertise-registry migrate` can create the schema. Development only: the role shares
# the superuser's password (var/compose/postgres-password).
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  --set=password="$POSTGRES_PASSWORD" <<'SQL'
CREATE ROLE expertise LOGIN PASSWORD :'password';
SQL
for db in north_east north_west yorkshire_and_the_humber east_midlands west_midlands \
  east_of_england london south_east south_west; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE DATABASE $db OWNER expertise;
REVOKE ALL ON DATABASE $db FROM PUBLIC;
SQL
done
