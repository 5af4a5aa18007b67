package models_test

import (
	"slices"
	"testing"
)

// globalTables hold no tenant's rows: they stay whole on every node of a
// sharded deployment (or on the coordinator).
var globalTables = []string{"accounts", "dispatchers", "login_attempts", "public_id_key", "schema_migrations"}

// globalLookups are the unique keys of tenant tables that do not carry the
// account: each finds the tenant from what a request brings before any
// account is known (the login email, an API key, a session cookie, an
// invite link). Sharded, each becomes a small lookup table of key ->
// account_id (docs/scaling.md); they are the only exceptions.
var globalLookups = []string{"api_keys_hash_key", "invites_token_hash_key", "sessions_token_hash_key", "users_email_key"}

// TestTenantTablesCarryTheAccountInEveryKey inspects the migrated schema:
// every table is a tenant table (it has account_id) or a named global one;
// a tenant table's primary key and every unique key include account_id
// (but for the named lookups), and every foreign key between tenant
// tables maps account_id to account_id, so one account's rows and their
// joins can live on one shard.
func TestTenantTablesCarryTheAccountInEveryKey(t *testing.T) {
	db := newStore(t, nil).DB()
	var tables []struct {
		Name       string
		HasAccount bool
	}
	if err := db.Raw(`SELECT c.relname AS name, EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'account_id' AND NOT a.attisdropped) AS has_account
		FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`).Scan(&tables).Error; err != nil {
		t.Fatal(err)
	}
	tenant := map[string]bool{}
	for _, tb := range tables {
		switch {
		case tb.HasAccount:
			tenant[tb.Name] = true
		case !slices.Contains(globalTables, tb.Name):
			t.Errorf("table %s has no account_id and is not one of the global tables %v", tb.Name, globalTables)
		}
	}
	if len(tenant) < 10 {
		t.Fatalf("found %d tenant tables (%v); the catalog query is wrong", len(tenant), tenant)
	}

	// Primary keys and unique keys (constraints and unique indexes alike).
	var uniques []struct {
		Table, Name string
		Primary     bool
		Columns     string // the index's definition
		HasAccount  bool
	}
	if err := db.Raw(`SELECT t.relname AS table, i.relname AS name, x.indisprimary AS primary, pg_get_indexdef(x.indexrelid) AS columns,
			EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attname = 'account_id' AND a.attnum = ANY(x.indkey)) AS has_account
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
		WHERE t.relnamespace = 'public'::regnamespace AND x.indisunique ORDER BY 1, 2`).Scan(&uniques).Error; err != nil {
		t.Fatal(err)
	}
	primary := map[string]bool{}
	for _, u := range uniques {
		if !tenant[u.Table] {
			continue
		}
		primary[u.Table] = primary[u.Table] || u.Primary
		if !u.HasAccount && !(slices.Contains(globalLookups, u.Name) && !u.Primary) {
			t.Errorf("%s: unique key %s (%s) does not include account_id", u.Table, u.Name, u.Columns)
		}
	}
	for name := range tenant {
		if !primary[name] {
			t.Errorf("tenant table %s has no primary key", name)
		}
	}

	// Foreign keys: to accounts by account_id, or to a tenant table with
	// account_id mapped to account_id.
	var fks []struct {
		Table, Name, Target, Def string
		Mapped                   bool
	}
	if err := db.Raw(`SELECT c.conrelid::regclass::text AS table, c.conname AS name, c.confrelid::regclass::text AS target, pg_get_constraintdef(c.oid) AS def,
			EXISTS (SELECT 1 FROM unnest(c.conkey, c.confkey) AS k(src, dst)
				JOIN pg_attribute s ON s.attrelid = c.conrelid AND s.attnum = k.src
				JOIN pg_attribute d ON d.attrelid = c.confrelid AND d.attnum = k.dst
				WHERE s.attname = 'account_id' AND d.attname = (CASE WHEN c.confrelid = 'accounts'::regclass THEN 'id' ELSE 'account_id' END)) AS mapped
		FROM pg_constraint c WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace ORDER BY 1, 2`).Scan(&fks).Error; err != nil {
		t.Fatal(err)
	}
	if len(fks) < 10 {
		t.Fatalf("found %d foreign keys; the catalog query is wrong", len(fks))
	}
	for _, fk := range fks {
		if tenant[fk.Table] && !fk.Mapped {
			t.Errorf("%s: foreign key %s (%s) does not carry account_id to %s", fk.Table, fk.Name, fk.Def, fk.Target)
		}
	}
}
