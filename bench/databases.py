"""The benchmark databases: one per size, named after the configured one.

``postgres://postgres@127.0.0.1:5432/ariesone_bench`` and 1,000 patients give
``ariesone_bench_1000``. PostgreSQL databases are created through the server's
maintenance database (``postgres``) when missing; the bench drops only those it created
in the same run, and only when asked (``--drop``). SQLite files get the size before
their suffix (``bench.sqlite3`` -> ``bench_1000.sqlite3``).
"""

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ariesone_bench"


@dataclass
class BenchDatabase:
    url: str
    name: str
    vendor: str  # "postgresql" or "sqlite"
    created: bool = False

    @classmethod
    def for_size(cls, base_url, patients):
        parts = urlsplit(base_url)
        if parts.scheme.startswith("sqlite"):
            # sqlite:///relative.sqlite3 and sqlite:////absolute/path.sqlite3
            path = Path(parts.path[1:])
            sized = path.with_name(f"{path.stem}_{patients}{path.suffix or '.sqlite3'}")
            return cls(url=f"sqlite:///{sized}", name=str(sized), vendor="sqlite")
        if parts.scheme not in ("postgres", "postgresql", "pgsql"):
            raise SystemExit(f"bench: unsupported database URL scheme {parts.scheme!r}.")
        name = f"{parts.path.lstrip('/') or 'ariesone_bench'}_{patients}"
        url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
        return cls(url=url, name=name, vendor="postgresql")

    def _maintenance(self):
        import psycopg

        parts = urlsplit(self.url)
        conninfo = urlunsplit(("postgresql", parts.netloc, "/postgres", parts.query, ""))
        return psycopg.connect(conninfo, autocommit=True)

    def exists(self):
        if self.vendor == "sqlite":
            return Path(self.name).exists()
        with self._maintenance() as connection:
            row = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [self.name]
            ).fetchone()
        return row is not None

    def create(self):
        if self.vendor == "postgresql":
            from psycopg import sql

            with self._maintenance() as connection:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        self.created = True

    def vacuum_analyze(self):
        """Measure the steady state: statistics fresh, visibility map set (what
        autovacuum gives a live database), whatever ran before."""
        if self.vendor != "postgresql":
            return
        import psycopg

        parts = urlsplit(self.url)
        conninfo = urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")

    def size_bytes(self):
        if self.vendor == "sqlite":
            return Path(self.name).stat().st_size
        with self._maintenance() as connection:
            return connection.execute("SELECT pg_database_size(%s)", [self.name]).fetchone()[0]

    def drop(self):
        """Drop the database, only if this run created it."""
        if not self.created:
            return False
        if self.vendor == "sqlite":
            Path(self.name).unlink(missing_ok=True)
            return True
        from psycopg import sql

        with self._maintenance() as connection:
            connection.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(self.name)))
        return True
