-- 0006: signatures of accepted AK/SK-signed requests that may change
-- something, kept until the request's signing window closes, so that a
-- replayed request is refused by every keyhaven sharing the database
-- (identity.SignatureLedger).
--   signature   the request's signature, hex
--   expires_at  end of its window, microseconds since the Unix epoch, UTC
CREATE TABLE aksk_signatures (
    signature  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX aksk_signatures_expires_at ON aksk_signatures (expires_at);
