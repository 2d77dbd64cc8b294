#!/usr/bin/env bash
# Run once by the official postgres image on an empty data folder
# (/docker-entrypoint-initdb.d): one login role and one database per service, the role owning
# its database and nothing else, so no service can read another's data.
#
# Passwords come from the environment: JEMPUT_RESIDENTS_DB_PASSWORD, JEMPUT_OUTREACH_DB_PASSWORD,
# JEMPUT_INVENTORY_DB_PASSWORD, JEMPUT_ANALYTICS_DB_PASSWORD. The role and the database of
# service X are both named jemput_X (JEMPUT_DB_NAME_PREFIX replaces "jemput_", e.g. for a test
# on a shared server).
set -euo pipefail

prefix=${JEMPUT_DB_NAME_PREFIX:-jemput_}

for service in residents outreach inventory analytics; do
    password_var="JEMPUT_${service^^}_DB_PASSWORD"
    password=${!password_var:-}
    if [[ -z $password ]]; then
        echo "10-jemput-databases.sh: $password_var is not set" >&2
        exit 1
    fi
    # psql variables (:"name" quotes an identifier, :'name' a literal): no value is pasted
    # into the SQL text.
    psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
        --set=name="$prefix$service" --set=password="$password" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name";
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
SQL
    echo "10-jemput-databases.sh: database and role $prefix$service created"
done
