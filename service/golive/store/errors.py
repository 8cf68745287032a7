"""Store errors: asyncpg's exceptions never leave `store/`."""


class StoreUnavailableError(Exception):
    """Postgres cannot be reached or dropped the connection: retry later."""


class StoreRejectedError(Exception):
    """Postgres refused the data itself (not a connection problem): retrying cannot help."""


class MigrationError(Exception):
    """The database schema is newer than this golive, or a migration failed."""
