"""The warehouse's schema history: Alembic revisions (``versions/``), run by
:mod:`grassroots.warehouse.migrate` (``grassroots db upgrade``)."""
