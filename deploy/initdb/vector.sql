-- Run once by the PostgreSQL image when it creates the database (docker-entrypoint-initdb.d).
CREATE EXTENSION IF NOT EXISTS vector;
