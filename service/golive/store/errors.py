"""Store errors: asyncpg's exceptions never leave `store/`."""


class StoreUnavailableError(Exception):
    """Postgres cannot be reached or dropped the connection: retry later."""


class MigrationError(Exception):
    """The database schema is newer than this golive, or a migration failed."""
