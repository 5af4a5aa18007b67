-- Every account has a default country (ISO 3166-1 alpha-2): bare national
-- phone numbers, typed into My Numbers or sent in events, are read as
-- numbers of that country. Existing accounts get IN, the country Ringhook
-- first served (the demo account's numbers are +91). The default is dropped
-- again so new accounts always get the value the application chose.
ALTER TABLE accounts ADD COLUMN default_country text NOT NULL DEFAULT 'IN'
    CHECK (default_country ~ '^[A-Z]{2}$');
ALTER TABLE accounts ALTER COLUMN default_country DROP DEFAULT;
