-- The key that turns delivery and attempt row ids into the opaque public ids
-- the API and the console show (models/publicid). One row per database,
-- written by the first Store that needs it; changing it would change every
-- public id ever handed out.
CREATE TABLE public_id_key (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    key        bytea NOT NULL CHECK (length(key) = 16),
    created_at timestamptz NOT NULL DEFAULT now()
);
