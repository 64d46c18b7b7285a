-- Chunk embeddings, addressed by (embedding model, hash of the chunk's title and text): a chunk
-- that did not change keeps its vector across re-ingests, and a tenant reaches only the vectors
-- of its own chunks (the lookup always starts from its rows in `chunks`).
CREATE TABLE chunk_vectors (
    model      TEXT NOT NULL,
    text_hash  TEXT NOT NULL,
    dim        INTEGER NOT NULL,
    vec        BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (model, text_hash)
) WITHOUT ROWID;
