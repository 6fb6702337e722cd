"""A stand-in for a migration (the pre-deploy hook): records the schema version it brought the
data to. Real apps run e.g. `alembic upgrade head` or `python manage.py migrate` here."""
import os
import sys

from app.version import VERSION

if __name__ == "__main__":
    target = os.environ.get("MIGRATIONS_FILE", "")
    revision = os.environ.get("FRESH_DEPLOY_REVISION", "dev")
    print("migrating the schema to version %s (revision %s)" % (VERSION, revision), flush=True)
    if target:
        with open(target, "a") as out:
            out.write("%s %s\n" % (VERSION, revision))
    sys.exit(0)
